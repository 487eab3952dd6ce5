package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// Svix's published test vector (svix-webhooks/go/webhook_test.go).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeader() http.Header {
	h := http.Header{}
	h.Set("svix-id", vectorID)
	h.Set("svix-timestamp", strconv.Itoa(vectorTimestamp))
	h.Set("svix-signature", vectorSignature)
	return h
}

// verifierAt returns a Verifier for secret whose clock reads now.
func verifierAt(t *testing.T, secret string, now time.Time) *Verifier {
	t.Helper()
	s, err := ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(s)
	if err != nil {
		t.Fatal(err)
	}
	v.now = func() time.Time { return now }
	return v
}

func TestSvixTestVector(t *testing.T) {
	v := verifierAt(t, vectorSecret, time.Unix(vectorTimestamp, 0))
	if rej := v.Verify(vectorHeader(), []byte(vectorBody)); rej != nil {
		t.Fatalf("the published vector is refused: %v", rej)
	}
	// Our signer produces the published signature.
	s, err := fake.NewSigner(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("svix-signature"); got != vectorSignature {
		t.Fatalf("signature %s, want %s", got, vectorSignature)
	}
}

func TestRoundTrip(t *testing.T) {
	secret := "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="
	g := fake.New(7, time.Now())
	s, err := fake.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v := verifierAt(t, secret, now)
	for _, ev := range []fake.Event{g.Created(g.NewUser()), g.Other("session.created", nil)} {
		d, err := g.Deliver(s, ev, now)
		if err != nil {
			t.Fatal(err)
		}
		if rej := v.Verify(d.Header, d.Body); rej != nil {
			t.Fatalf("%s: %v", ev.Type, rej)
		}
		// The Standard Webhooks names work too.
		wh := http.Header{}
		wh.Set("webhook-id", d.Header.Get("svix-id"))
		wh.Set("webhook-timestamp", d.Header.Get("svix-timestamp"))
		wh.Set("webhook-signature", d.Header.Get("svix-signature"))
		if rej := v.Verify(wh, d.Body); rej != nil {
			t.Fatalf("webhook-* headers: %v", rej)
		}
	}
}

func TestRejections(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	with := func(mutate func(h http.Header)) http.Header {
		h := vectorHeader()
		mutate(h)
		return h
	}
	tests := []struct {
		name   string
		secret string
		now    time.Time
		header http.Header
		body   string
		reason string
	}{
		{"no svix-id", vectorSecret, at, with(func(h http.Header) { h.Del("svix-id") }), vectorBody, ReasonMissingHeaders},
		{"no svix-timestamp", vectorSecret, at, with(func(h http.Header) { h.Del("svix-timestamp") }), vectorBody, ReasonMissingHeaders},
		{"no svix-signature", vectorSecret, at, with(func(h http.Header) { h.Del("svix-signature") }), vectorBody, ReasonMissingHeaders},
		{"svix-id too long", vectorSecret, at, with(func(h http.Header) { h.Set("svix-id", strings.Repeat("m", 257)) }), vectorBody, ReasonMissingHeaders},
		{"timestamp not a number", vectorSecret, at, with(func(h http.Header) { h.Set("svix-timestamp", "yesterday") }), vectorBody, ReasonMissingHeaders},
		{"tampered body", vectorSecret, at, vectorHeader(), `{"test": 2432232315}`, ReasonBadSignature},
		{"other secret", "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==", at, vectorHeader(), vectorBody, ReasonBadSignature},
		{"other id", vectorSecret, at, with(func(h http.Header) { h.Set("svix-id", "msg_other") }), vectorBody, ReasonBadSignature},
		{"only a v2 signature", vectorSecret, at, with(func(h http.Header) { h.Set("svix-signature", strings.Replace(vectorSignature, "v1,", "v2,", 1)) }), vectorBody, ReasonBadSignature},
		{"garbage signature", vectorSecret, at, with(func(h http.Header) { h.Set("svix-signature", "v1") }), vectorBody, ReasonBadSignature},
		{"too old", vectorSecret, at.Add(Tolerance + time.Second), vectorHeader(), vectorBody, ReasonTooOld},
		{"too new", vectorSecret, at.Add(-Tolerance - time.Second), vectorHeader(), vectorBody, ReasonTooNew},
		{"forged and old is a forgery", vectorSecret, at.Add(time.Hour), vectorHeader(), `{}`, ReasonBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rej := verifierAt(t, tt.secret, tt.now).Verify(tt.header, []byte(tt.body))
			if rej == nil {
				t.Fatal("accepted")
			}
			if rej.Reason != tt.reason || rej.Status != http.StatusBadRequest {
				t.Fatalf("got %s (%d), want %s (400)", rej.Reason, rej.Status, tt.reason)
			}
		})
	}
	t.Run("one good signature among several", func(t *testing.T) {
		h := with(func(h http.Header) { h.Set("svix-signature", "v1,bm9wZQ== "+vectorSignature+" v2,xyz") })
		if rej := verifierAt(t, vectorSecret, at).Verify(h, []byte(vectorBody)); rej != nil {
			t.Fatal(rej)
		}
	})
	t.Run("inside the tolerance either way", func(t *testing.T) {
		for _, d := range []time.Duration{Tolerance - time.Second, -Tolerance + time.Second} {
			if rej := verifierAt(t, vectorSecret, at.Add(d)).Verify(vectorHeader(), []byte(vectorBody)); rej != nil {
				t.Fatalf("%v off: %v", d, rej)
			}
		}
	})
}

func TestParseSecret(t *testing.T) {
	for _, bad := range []string{"", "   ", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!", "sk_test_abc"} {
		if _, err := ParseSecret(bad); !errors.Is(err, ErrSecret) {
			t.Errorf("ParseSecret(%q) = %v, want ErrSecret", bad, err)
		}
	}
	s, err := ParseSecret(" " + vectorSecret + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if s.Reveal() != vectorSecret {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", s)
	for _, shown := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), logged.String(), s.Fingerprint()} {
		if strings.Contains(shown, "MfKQ9r8G") {
			t.Fatalf("the secret leaks: %s", shown)
		}
	}
	other, _ := ParseSecret("whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==")
	if other.Fingerprint() == s.Fingerprint() {
		t.Fatal("two secrets share a fingerprint")
	}
}
