// Package fakeclerk is a fake Clerk instance: its users, the subset of the
// Backend API that reads and writes them, and the signed webhooks its writes
// fire. `mockclerk serve` runs it on localhost.
package fakeclerk

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// User is one user of the instance, kept compact: the fields a write can
// change. Render gives Clerk's full user object. A published User is never
// changed: a write replaces it with a changed copy, so readers need no lock
// once they hold it.
type User struct {
	ID              string          `json:"id"`
	ExternalID      *string         `json:"external_id,omitempty"`
	FirstName       *string         `json:"first_name,omitempty"`
	LastName        *string         `json:"last_name,omitempty"`
	Username        *string         `json:"username,omitempty"`
	ImageURL        string          `json:"image_url"`
	HasImage        bool            `json:"has_image,omitempty"`
	Emails          []Identifier    `json:"emails,omitempty"`
	PrimaryEmailID  *string         `json:"primary_email_id,omitempty"`
	Phones          []Identifier    `json:"phones,omitempty"`
	PrimaryPhoneID  *string         `json:"primary_phone_id,omitempty"`
	PublicMetadata  json.RawMessage `json:"public_metadata,omitempty"`
	PrivateMetadata json.RawMessage `json:"private_metadata,omitempty"`
	UnsafeMetadata  json.RawMessage `json:"unsafe_metadata,omitempty"`
	PasswordEnabled bool            `json:"password_enabled,omitempty"`
	Banned          bool            `json:"banned,omitempty"`
	LastSignInAt    *int64          `json:"last_sign_in_at,omitempty"`
	CreatedAt       int64           `json:"created_at"` // Unix ms
	UpdatedAt       int64           `json:"updated_at"` // Unix ms
}

// Identifier is one email address or phone number of a user.
type Identifier struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// PrimaryEmail is the address of the primary email, or "" when the user
// has none.
func (u *User) PrimaryEmail() string {
	for _, e := range u.Emails {
		if u.PrimaryEmailID != nil && e.ID == *u.PrimaryEmailID {
			return e.Value
		}
	}
	return ""
}

// hasEmail reports whether one of the user's addresses is in set (lower
// case).
func (u *User) hasEmail(set map[string]bool) bool {
	for _, e := range u.Emails {
		if set[strings.ToLower(e.Value)] {
			return true
		}
	}
	return false
}

// clone returns a copy that a write may change without touching u. The
// slices are copied too; the strings and raw JSON they point to are never
// changed in place.
func (u *User) clone() *User {
	c := *u
	c.Emails = append([]Identifier(nil), u.Emails...)
	c.Phones = append([]Identifier(nil), u.Phones...)
	return &c
}

// fromFake turns a generated user into an instance user.
func fromFake(g *fake.User) *User {
	u := &User{
		ID: g.ID, ExternalID: g.ExternalID, FirstName: g.FirstName, LastName: g.LastName, Username: g.Username,
		ImageURL: g.ImageURL, HasImage: true, PrimaryEmailID: g.PrimaryID,
		PublicMetadata: json.RawMessage(g.PublicMetadata()), PasswordEnabled: len(g.Emails) > 0,
		Banned: g.Banned, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
	for _, e := range g.Emails {
		u.Emails = append(u.Emails, Identifier{ID: e.ID, Value: e.Address})
	}
	if g.Phone != nil {
		id := g.PhoneID
		u.Phones = []Identifier{{ID: id, Value: *g.Phone}}
		u.PrimaryPhoneID = &id
	}
	if g.LastSignInAt > 0 {
		at := g.LastSignInAt
		u.LastSignInAt = &at
	}
	return u
}

// randomID returns a Clerk-style id: prefix, underscore, 27 base62
// characters beginning with 2, as Clerk's ids of today do.
func randomID(prefix string) string {
	return prefix + "_2" + randomBase62(26)
}

func randomBase62(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand panics rather than return an error
	for i := range b {
		b[i] = fake.Base62[int(b[i])%len(fake.Base62)]
	}
	return string(b)
}

// traceID returns a fresh clerk_trace_id: 32 hex digits.
func traceID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails: crypto/rand panics rather than return an error
	return hex.EncodeToString(b)
}

// NewSecretKey returns a fresh secret key for a local instance: sk_test_
// and 40 random base62 characters, the shape of a development instance's
// key.
func NewSecretKey() string {
	return "sk_test_" + randomBase62(40)
}
