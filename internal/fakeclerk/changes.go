package fakeclerk

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"
)

// Field is a body field of a write: not Set leaves the user's value as it
// is, Set with a nil Value (JSON null) clears it.
type Field[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON records that the field was given.
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if bytes.Equal(b, []byte("null")) {
		f.Value = nil
		return nil
	}
	f.Value = new(T)
	return json.Unmarshal(b, f.Value)
}

// Changes are the body of POST /v1/users or PATCH /v1/users/{id}.
type Changes struct {
	ExternalID            Field[string]   `json:"external_id"`
	FirstName             Field[string]   `json:"first_name"`
	LastName              Field[string]   `json:"last_name"`
	Username              Field[string]   `json:"username"`
	Password              Field[string]   `json:"password"`
	EmailAddresses        []string        `json:"email_address"` // create only; the first is primary
	PhoneNumbers          []string        `json:"phone_number"`  // create only; the first is primary
	PrimaryEmailAddressID Field[string]   `json:"primary_email_address_id"`
	PrimaryPhoneNumberID  Field[string]   `json:"primary_phone_number_id"`
	PublicMetadata        json.RawMessage `json:"public_metadata"`
	PrivateMetadata       json.RawMessage `json:"private_metadata"`
	UnsafeMetadata        json.RawMessage `json:"unsafe_metadata"`
	CreatedAt             *int64          `json:"-"` // Unix ms, from RFC 3339 created_at
}

// The body fields each write takes. Others that Clerk takes but that
// change nothing a sync sees (password checks, legal checks …) are
// accepted and ignored; any other field is refused.
var (
	createFields = []string{"external_id", "first_name", "last_name", "username", "password", "email_address",
		"phone_number", "public_metadata", "private_metadata", "unsafe_metadata", "created_at"}
	updateFields = []string{"external_id", "first_name", "last_name", "username", "password",
		"primary_email_address_id", "primary_phone_number_id", "public_metadata", "private_metadata", "unsafe_metadata", "created_at"}
	ignoredFields = []string{"skip_password_requirement", "skip_password_checks", "skip_legal_checks", "skip_user_requirement",
		"password_digest", "password_hasher", "notify_primary_email_address_changed", "sign_out_of_other_sessions"}
)

// decodeChanges reads a write's body, taking only the fields in allowed.
func decodeChanges(body []byte, allowed []string) (Changes, error) {
	var c Changes
	if len(bytes.TrimSpace(body)) == 0 {
		return c, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return c, errBodyInvalid
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names) // the first refused field, the same one every time
	for _, name := range names {
		if !slices.Contains(allowed, name) && !slices.Contains(ignoredFields, name) {
			return c, unknownParam(name)
		}
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, invalid(paramOf(err), "%s", err.Error())
	}
	for name, m := range map[string]*json.RawMessage{"public_metadata": &c.PublicMetadata, "private_metadata": &c.PrivateMetadata, "unsafe_metadata": &c.UnsafeMetadata} {
		switch t := bytes.TrimSpace(*m); {
		case len(t) == 0:
		case bytes.Equal(t, []byte("null")):
			*m = emptyObject
		case t[0] != '{':
			return c, invalid(name, "%s must be an object.", name)
		default:
			*m = compact(t)
		}
	}
	if raw, ok := fields["created_at"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return c, invalid("created_at", "created_at must be a date and time in RFC 3339 format.")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return c, invalid("created_at", "created_at must be a date and time in RFC 3339 format, e.g. 2012-10-20T07:15:20.902Z.")
		}
		ms := t.UnixMilli()
		c.CreatedAt = &ms
	}
	return c, nil
}

// compact removes the insignificant spaces of valid JSON, as Clerk stores
// metadata.
func compact(b []byte) json.RawMessage {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b // already checked by json.Unmarshal: cannot happen
	}
	return out.Bytes()
}

// paramOf names the field of a JSON type error, when it is one.
func paramOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return strings.SplitN(te.Field, ".", 2)[0]
	}
	return ""
}
