// Package clerk holds the shapes of Clerk's webhook deliveries: the event
// envelope (which Clerk's Go SDK does not define), the user object (which it
// does), and the facts the sync derives from them.
package clerk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	sdk "github.com/clerk/clerk-sdk-go/v2"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Event types the sync acts on. Every other type is recorded and ignored.
const (
	UserCreated = "user.created"
	UserUpdated = "user.updated"
	UserDeleted = "user.deleted"
)

// ErrMalformed marks a verified body that cannot be applied: not JSON, not
// an event, or a user event without data.id.
var ErrMalformed = errors.New("malformed event")

// Event is the envelope of every Clerk webhook body.
type Event struct {
	Object          string          `json:"object"`
	Type            string          `json:"type"`
	Timestamp       int64           `json:"timestamp"`
	InstanceID      string          `json:"instance_id"`
	Data            json.RawMessage `json:"data"`
	EventAttributes *struct {
		HTTPRequest *struct {
			ClientIP  string `json:"client_ip"`
			UserAgent string `json:"user_agent"`
		} `json:"http_request"`
	} `json:"event_attributes,omitempty"`
}

// IsUserEvent reports whether the sync writes anything for this event type.
func IsUserEvent(eventType string) bool {
	switch eventType {
	case UserCreated, UserUpdated, UserDeleted:
		return true
	}
	return false
}

// User is Clerk's user object as the Backend API and webhooks send it.
type User = sdk.User

// DeletedUser is the data of a user.deleted event: no names, no email, no
// updated_at.
type DeletedUser struct {
	Object     string  `json:"object"`
	ID         string  `json:"id"`
	Deleted    bool    `json:"deleted"`
	ExternalID *string `json:"external_id"`
}

// Parse decodes a verified body. For a user event it also returns the
// change to apply; for any other type the change is nil. Errors wrap
// ErrMalformed and say what is wrong.
func Parse(body []byte) (*Event, *store.Change, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, nil, fmt.Errorf("%w: body is not a JSON event: %v", ErrMalformed, err)
	}
	if ev.Type == "" {
		return &ev, nil, fmt.Errorf("%w: no type", ErrMalformed)
	}
	if !IsUserEvent(ev.Type) {
		return &ev, nil, nil
	}
	if len(ev.Data) == 0 || ev.Data[0] != '{' {
		return &ev, nil, fmt.Errorf("%w: data is not an object", ErrMalformed)
	}
	if ev.Type == UserDeleted {
		var d DeletedUser
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return &ev, nil, fmt.Errorf("%w: data: %v", ErrMalformed, err)
		}
		if d.ID == "" {
			return &ev, nil, fmt.Errorf("%w: no data.id", ErrMalformed)
		}
		return &ev, &store.Change{UserID: d.ID, Version: Millis(ev.Timestamp), Deleted: true}, nil
	}
	var u User
	if err := json.Unmarshal(ev.Data, &u); err != nil {
		return &ev, nil, fmt.Errorf("%w: data: %v", ErrMalformed, err)
	}
	if u.ID == "" {
		return &ev, nil, fmt.Errorf("%w: no data.id", ErrMalformed)
	}
	if u.UpdatedAt <= 0 {
		// Without it the event cannot be ordered against the others.
		return &ev, nil, fmt.Errorf("%w: no data.updated_at", ErrMalformed)
	}
	return &ev, &store.Change{
		UserID:    u.ID,
		Version:   Millis(u.UpdatedAt),
		Email:     PrimaryEmail(&u),
		FirstName: blankToNil(u.FirstName),
		LastName:  blankToNil(u.LastName),
		Username:  blankToNil(u.Username),
		ImageURL:  blankToNil(u.ImageURL),
		CreatedAt: time.UnixMilli(Millis(u.CreatedAt)).UTC(),
		UpdatedAt: time.UnixMilli(Millis(u.UpdatedAt)).UTC(),
	}, nil
}

// Millis normalises a Clerk time to Unix milliseconds: Clerk documents
// milliseconds, but some of its examples carry seconds.
func Millis(t int64) int64 {
	if t > 0 && t < 1e12 {
		return t * 1000
	}
	return t
}

// PrimaryEmail returns the address whose id is primary_email_address_id, or
// nil when the user has none. It never falls back to the first entry: that
// one is not the primary as often as not.
func PrimaryEmail(u *User) *string {
	if u.PrimaryEmailAddressID == nil {
		return nil
	}
	for _, e := range u.EmailAddresses {
		if e != nil && e.ID == *u.PrimaryEmailAddressID {
			addr := e.EmailAddress
			return &addr
		}
	}
	return nil
}

func blankToNil(s *string) *string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	return s
}
