package clerk

import (
	"encoding/json"
	"fmt"

	sdk "github.com/clerk/clerk-sdk-go/v2"
)

// User is Clerk's user object as the Backend API and webhooks send it.
type User = sdk.User

// DecodeUser decodes a whole user object with Clerk's SDK, for callers
// that need more than the fields Parse reads.
func DecodeUser(data []byte) (*User, error) {
	var u User
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("%w: user: %v", ErrMalformed, err)
	}
	return &u, nil
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
