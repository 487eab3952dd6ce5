package fake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// Delivery is one signed request, ready to send (and to send again: the
// same id and bytes make a duplicate).
type Delivery struct {
	ID        string // svix-id
	Timestamp time.Time
	Body      []byte
	Header    http.Header
	Event     Event
}

// NewSecret returns a fresh signing secret: whsec_ and 24 random bytes in
// base64, the size of Svix's own.
func NewSecret() string {
	key := make([]byte, 24)
	rand.Read(key) // never fails: crypto/rand panics rather than return an error
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// Signer signs bodies with a whsec_ secret through the Svix library.
type Signer struct {
	wh *svix.Webhook
}

// NewSigner returns a Signer for a whsec_ secret.
func NewSigner(secret string) (*Signer, error) {
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("signing secret: %w", err)
	}
	return &Signer{wh: wh}, nil
}

// Sign returns the svix-id, svix-timestamp and svix-signature headers for
// body.
func (s *Signer) Sign(msgID string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := s.wh.Sign(msgID, ts, body)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", msgID, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("svix-id", msgID)
	h.Set("svix-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("svix-signature", sig)
	return h, nil
}

// Deliver wraps ev in a new signed delivery with a fresh svix-id.
func (g *Generator) Deliver(s *Signer, ev Event, ts time.Time) (Delivery, error) {
	id := g.ID("msg")
	h, err := s.Sign(id, ts, ev.Body)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ID: id, Timestamp: ts, Body: ev.Body, Header: h, Event: ev}, nil
}

// Request builds the POST of d to url.
func (d Delivery) Request(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return nil, err
	}
	req.Header = d.Header.Clone()
	return req, nil
}

// Unsigned wraps ev in a new delivery with a fresh svix-id and no headers:
// a Deliverer signs it as it sends it.
func (g *Generator) Unsigned(ev Event) Delivery {
	return Delivery{ID: g.ID("msg"), Body: ev.Body, Event: ev}
}
