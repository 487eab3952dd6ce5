package fake

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Ways to spoil a delivery's signature, for testing a receiver's checks.
const (
	TamperBody      = "body"      // change the body after signing
	TamperSignature = "signature" // change the signature
	TamperSecret    = "secret"    // sign with another secret
)

// Header name sets.
const (
	HeadersSvix    = "svix"    // svix-id, svix-timestamp, svix-signature (what Clerk sends)
	HeadersWebhook = "webhook" // the Standard Webhooks names: webhook-id …
)

// Shape says how a delivery is signed and addressed: correctly by
// default, or spoiled in one of the ways a receiver must refuse.
type Shape struct {
	Tamper  string        // "", TamperBody, TamperSignature or TamperSecret
	Skew    time.Duration // added to the signing time: -6m makes it stale
	Headers string        // HeadersSvix (default) or HeadersWebhook
	NoSign  bool          // send no signature header at all
}

// Validate checks the shape's values.
func (s Shape) Validate() error {
	switch s.Tamper {
	case "", TamperBody, TamperSignature, TamperSecret:
	default:
		return fmt.Errorf("tamper %q: want body, signature or secret", s.Tamper)
	}
	switch s.Headers {
	case "", HeadersSvix, HeadersWebhook:
	default:
		return fmt.Errorf("headers %q: want svix or webhook", s.Headers)
	}
	return nil
}

// Sign signs d at time now (plus the skew) in this shape and returns the
// headers and body to send. d itself is not changed, so a retry can sign it
// again with a fresh timestamp, as Svix does.
func (s Shape) Sign(signer *Signer, d Delivery, now time.Time) (http.Header, []byte, error) {
	body := d.Body
	if s.Tamper == TamperSecret {
		var err error
		if signer, err = NewSigner(NewSecret()); err != nil {
			return nil, nil, err
		}
	}
	h, err := signer.Sign(d.ID, now.Add(s.Skew), body)
	if err != nil {
		return nil, nil, err
	}
	switch s.Tamper {
	case TamperBody:
		// Still valid JSON, one byte longer: only the signature can tell.
		body = append([]byte{' '}, body...)
	case TamperSignature:
		sig := []byte(h.Get("svix-signature"))
		i := len("v1,")
		sig[i] = flip(sig[i])
		h.Set("svix-signature", string(sig))
	}
	if s.NoSign {
		h.Del("svix-signature")
	}
	if s.Headers == HeadersWebhook {
		for _, name := range []string{"id", "timestamp", "signature"} {
			if v := h.Get("svix-" + name); v != "" {
				h.Set("webhook-"+name, v)
			}
			h.Del("svix-" + name)
		}
	}
	return h, body, nil
}

// flip swaps a base64 character for another one.
func flip(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// Curl renders a signed request as a curl command line that sends the
// body byte for byte: any change, even a trimmed trailing newline, breaks
// the signature.
func Curl(url string, h http.Header, body []byte) string {
	var b strings.Builder
	b.WriteString("curl -sS -X POST " + shellQuote(url))
	for _, name := range []string{"Content-Type", "Svix-Id", "Svix-Timestamp", "Svix-Signature", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		if v := h.Get(name); v != "" {
			b.WriteString(" \\\n  -H " + shellQuote(strings.ToLower(name)+": "+v))
		}
	}
	b.WriteString(" \\\n  --data-binary " + shellQuote(string(body)))
	return b.String()
}

// shellQuote quotes s for a POSIX shell: inside single quotes every byte
// is literal except the quote itself, which is closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
