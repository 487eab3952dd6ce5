package fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

const secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// The signature is HMAC-SHA256 over "id.timestamp.body" with the
// base64-decoded key, in standard base64 — recomputed here from scratch,
// and checked with the Svix library.
func TestSignatureFromScratch(t *testing.T) {
	g := New(11, time.Now())
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, ev := range []Event{g.Created(g.NewUser()), g.Other("session.created", nil)} {
		d, err := g.Deliver(s, ev, now)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%d.%s", d.ID, now.Unix(), d.Body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if got := d.Header.Get("svix-signature"); got != want {
			t.Fatalf("signature %s, want %s", got, want)
		}
		if got := d.Header.Get("svix-timestamp"); got != strconv.FormatInt(now.Unix(), 10) {
			t.Fatalf("timestamp %s", got)
		}
		wh, _ := svix.NewWebhook(secret)
		if err := wh.Verify(d.Body, d.Header); err != nil {
			t.Fatalf("svix refuses it: %v", err)
		}
	}
}

func TestShapes(t *testing.T) {
	g := New(12, time.Now())
	s, _ := NewSigner(secret)
	d, _ := g.Deliver(s, g.Created(g.NewUser()), time.Now())
	wh, _ := svix.NewWebhook(secret)
	now := time.Now()
	tests := []struct {
		shape Shape
		ok    bool
	}{
		{Shape{}, true},
		{Shape{Headers: HeadersWebhook}, true},
		{Shape{Tamper: TamperBody}, false},
		{Shape{Tamper: TamperSignature}, false},
		{Shape{Tamper: TamperSecret}, false},
		{Shape{Skew: -6 * time.Minute}, false},
		{Shape{Skew: 6 * time.Minute}, false},
		{Shape{NoSign: true}, false},
	}
	for _, tt := range tests {
		h, body, err := tt.shape.Sign(s, d, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); (err == nil) != tt.ok {
			t.Errorf("%+v: verify = %v, want ok=%v", tt.shape, err, tt.ok)
		}
	}
	if err := (Shape{Tamper: "x"}).Validate(); err == nil {
		t.Fatal("bad tamper accepted")
	}
	if err := (Shape{Headers: "x"}).Validate(); err == nil {
		t.Fatal("bad headers accepted")
	}
	h, _, _ := Shape{}.Sign(s, d, now)
	if c := Curl("http://x/y", h, d.Body); !strings.Contains(c, "-H 'svix-signature: v1,") || !strings.HasPrefix(c, "curl -sS -X POST 'http://x/y'") {
		t.Fatalf("curl: %s", c)
	}
}
