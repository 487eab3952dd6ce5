// Package webhook is the HTTP side of the sync: it verifies each delivery
// with the Svix library, hands the verified bytes to the syncer, and
// answers with the status code and outcome of the sync contract.
package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/clerk-sync/clerk-sync/internal/config"
)

// maxIDLength bounds svix-id, which is echoed in answers and logs; Svix's
// are about 30 bytes.
const maxIDLength = 256

// Tolerance is how far a delivery's timestamp may be from now, either way.
const Tolerance = 5 * time.Minute

// Reasons a delivery is refused. They appear in answers and logs.
const (
	ReasonMissingHeaders = "missing-headers"
	ReasonBadSignature   = "bad-signature"
	ReasonTooOld         = "too-old"
	ReasonTooNew         = "too-new"
	ReasonMalformed      = "malformed"
	ReasonTooLarge       = "too-large"
	ReasonMethod         = "method-not-allowed"
	ReasonUnavailable    = "unavailable"
	ReasonDatabase       = "database-error"
)

// ErrSecret marks a signing secret that cannot be used.
var ErrSecret = errors.New("invalid signing secret")

// Secret is a parsed Svix signing secret. Its String and LogValue show
// only a fingerprint, so it can be passed around and logged safely.
type Secret struct {
	raw string
	key []byte
}

// ParseSecret checks that s is "whsec_" followed by base64 of at least one
// byte. The Svix library accepts an empty key; we do not, since every
// signature would then be forgeable.
func ParseSecret(s string) (Secret, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Secret{}, fmt.Errorf("%w: it is empty; set CLERK_WEBHOOK_SIGNING_SECRET to the whsec_… value that Clerk's Dashboard shows for the endpoint (or run `mockclerk secret --write-env` for a local one)", ErrSecret)
	}
	body, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return Secret{}, fmt.Errorf("%w: it must start with whsec_ (Clerk's Dashboard → Webhooks → your endpoint → Signing Secret)", ErrSecret)
	}
	key, err := base64.StdEncoding.DecodeString(body)
	if err != nil || len(key) == 0 {
		return Secret{}, fmt.Errorf("%w: the part after whsec_ is not base64", ErrSecret)
	}
	return Secret{raw: s, key: key}, nil
}

// MinKeyLen is the length, in bytes, of the keys that Svix and `mockclerk
// secret` make; a shorter key is easier to guess.
const MinKeyLen = 24

// Len is the length of the decoded key, in bytes.
func (s Secret) Len() int { return len(s.key) }

// Reveal returns the secret itself, for signing.
func (s Secret) Reveal() string { return s.raw }

// Fingerprint is a short, non-reversible tag that tells secrets apart.
func (s Secret) Fingerprint() string {
	if len(s.key) == 0 {
		return "none"
	}
	sum := sha256.Sum256(s.key)
	return "whsec_…" + hex.EncodeToString(sum[:4])
}

// String implements fmt.Stringer without revealing the secret.
func (s Secret) String() string { return s.Fingerprint() }

// GoString implements fmt.GoStringer, so that %#v does not reveal it either.
func (s Secret) GoString() string { return "webhook.Secret(" + s.Fingerprint() + ")" }

// LogValue implements slog.LogValuer without revealing the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.Fingerprint()) }

// Rejection is why a delivery was refused before it reached the database.
type Rejection struct {
	Reason string
	Status int
	Msg    string
}

// Error implements error.
func (r *Rejection) Error() string { return r.Reason + ": " + r.Msg }

// Verifier checks Svix signatures and timestamps.
type Verifier struct {
	wh  *svix.Webhook
	now func() time.Time
}

// NewVerifier returns a Verifier for secret.
func NewVerifier(secret Secret) (*Verifier, error) {
	wh, err := svix.NewWebhookRaw(secret.key)
	if err != nil {
		return nil, fmt.Errorf("svix webhook: %w", err)
	}
	return &Verifier{wh: wh, now: time.Now}, nil
}

// Headers returns the message id, timestamp and signature of a delivery,
// from the svix-* headers or, as the Svix library does, from the Standard
// Webhooks webhook-* names.
func Headers(h http.Header) (id, timestamp, signature string) {
	id, timestamp, signature = h.Get("svix-id"), h.Get("svix-timestamp"), h.Get("svix-signature")
	if id == "" || timestamp == "" || signature == "" {
		id, timestamp, signature = h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	}
	return id, timestamp, signature
}

// checkHeaders refuses a delivery without usable svix headers before its
// body is read.
func checkHeaders(h http.Header) (id string, ts time.Time, rej *Rejection) {
	id, timestamp, signature := Headers(h)
	if id == "" || timestamp == "" || signature == "" {
		return "", time.Time{}, &Rejection{ReasonMissingHeaders, http.StatusBadRequest, "svix-id, svix-timestamp and svix-signature are required"}
	}
	if len(id) > maxIDLength {
		return "", time.Time{}, &Rejection{ReasonMissingHeaders, http.StatusBadRequest, fmt.Sprintf("svix-id is longer than %d bytes", maxIDLength)}
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return "", time.Time{}, &Rejection{ReasonMissingHeaders, http.StatusBadRequest, "svix-timestamp is not a Unix time in seconds"}
	}
	return id, time.Unix(secs, 0), nil
}

// Verify checks the signature first (so a forgery is called one whatever
// its timestamp), then the timestamp against now ± Tolerance.
func (v *Verifier) Verify(h http.Header, body []byte) *Rejection {
	_, ts, rej := checkHeaders(h)
	if rej != nil {
		return rej
	}
	return v.verify(h, body, ts)
}

// verify is Verify for headers already checked, ts their timestamp.
func (v *Verifier) verify(h http.Header, body []byte, ts time.Time) *Rejection {
	if rej := v.signature(h, body); rej != nil {
		return rej
	}
	return checkTime(ts, v.now())
}

// CheckSignature checks the headers and the signature, not the time: what
// can still be judged of a delivery captured long ago.
func (v *Verifier) CheckSignature(h http.Header, body []byte) *Rejection {
	if _, _, rej := checkHeaders(h); rej != nil {
		return rej
	}
	return v.signature(h, body)
}

func (v *Verifier) signature(h http.Header, body []byte) *Rejection {
	if err := v.wh.VerifyIgnoringTimestamp(body, h); err != nil {
		return &Rejection{ReasonBadSignature, http.StatusBadRequest, "no svix-signature matches the body and the signing secret"}
	}
	return nil
}

// CheckTime refuses a timestamp more than Tolerance away from now.
func CheckTime(h http.Header, now time.Time) *Rejection {
	_, ts, rej := checkHeaders(h)
	if rej != nil {
		return rej
	}
	return checkTime(ts, now)
}

func checkTime(ts, now time.Time) *Rejection {
	switch {
	// Too new is judged in seconds: time.Unix wraps around for timestamps
	// near the int64 limit, which Before and After would call old.
	case ts.Unix() > now.Add(Tolerance).Unix():
		ahead := time.Duration(min(ts.Unix()-now.Unix(), int64(math.MaxInt64/time.Second))) * time.Second
		return &Rejection{ReasonTooNew, http.StatusBadRequest, fmt.Sprintf("svix-timestamp is %s in the future; the limit is %s", ahead, Tolerance)}
	case ts.Before(now.Add(-Tolerance)):
		return &Rejection{ReasonTooOld, http.StatusBadRequest, fmt.Sprintf("svix-timestamp is %s old; the limit is %s", now.Sub(ts).Round(time.Second), Tolerance)}
	}
	return nil
}

// LoadSecret finds the signing secret as the toolkit documents it (see
// config.Env.Secret) and parses it; an error says where it came from.
func LoadSecret(env *config.Env, flag string) (Secret, string, error) {
	raw, source := env.Secret(flag)
	s, err := ParseSecret(raw)
	switch {
	case err != nil && source == "":
		return Secret{}, "", fmt.Errorf("no signing secret: %w", err)
	case err != nil:
		return Secret{}, source, fmt.Errorf("signing secret from %s: %w", source, err)
	}
	return s, source, nil
}

// BadSignatureCauses are the usual reasons for a bad-signature, most
// common first, as mockclerk verify and the inspector give them.
var BadSignatureCauses = []string{
	"the secret is not this endpoint's: each endpoint in Clerk's Dashboard has its own whsec_…;",
	"the body is not the raw bytes that were sent (parsed and re-serialised, pretty-printed, trimmed);",
	"svix-id or svix-timestamp were copied from another delivery (a retry is re-signed with a new timestamp).",
}
