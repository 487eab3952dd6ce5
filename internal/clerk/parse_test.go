package clerk_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	sdk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// decodeUser decodes a whole user with Clerk's SDK: the oracle Parse is
// checked against.
func decodeUser(data []byte) (*sdk.User, error) {
	var u sdk.User
	err := json.Unmarshal(data, &u)
	return &u, err
}

// primaryEmail is the SDK-side reading of the primary email: the entry
// whose id is primary_email_address_id, never simply the first.
func primaryEmail(u *sdk.User) *string {
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

// Parse reads the user fields itself; it must agree with decoding the
// whole user through Clerk's SDK.
func TestParseAgreesWithTheSDK(t *testing.T) {
	g := fake.New(5, time.Now())
	var bodies [][]byte
	for range 300 {
		_, evs := g.Lifecycle(3, false)
		for _, ev := range evs {
			bodies = append(bodies, ev.Body)
		}
	}
	for _, f := range []string{"user.created.docs.json", "user.created.openapi.json", "user.updated.openapi.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	for _, body := range bodies {
		_, got, err := clerk.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		u, err := decodeUser([]byte(gjson.GetBytes(body, "data").Raw))
		if err != nil {
			t.Fatal(err)
		}
		blank := func(s *string) *string {
			if s == nil || *s == "" {
				return nil
			}
			return s
		}
		want := &store.Change{
			Kind: store.KindUser, ID: u.ID, Version: clerk.Millis(u.UpdatedAt), Email: primaryEmail(u),
			FirstName: blank(u.FirstName), LastName: blank(u.LastName), Username: blank(u.Username), ImageURL: blank(u.ImageURL),
			CreatedAt: time.UnixMilli(clerk.Millis(u.CreatedAt)).UTC(), UpdatedAt: time.UnixMilli(clerk.Millis(u.UpdatedAt)).UTC(),
			Phone: primaryPhone(u), ExternalID: blank(u.ExternalID), Banned: u.Banned, Locked: u.Locked,
			PublicMetadata: metadata(u.PublicMetadata), PrivateMetadata: metadata(u.PrivateMetadata),
			UnsafeMetadata: metadata(u.UnsafeMetadata), Data: []byte(gjson.GetBytes(body, "data").Raw),
			Digest: store.Digest([]byte(gjson.GetBytes(body, "data").Raw)),
		}
		if u.LastSignInAt != nil {
			t := time.UnixMilli(clerk.Millis(*u.LastSignInAt)).UTC()
			want.LastSignInAt = &t
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse: %+v\nSDK:   %+v\nbody: %s", got, want, body)
		}
	}
}

func primaryPhone(u *sdk.User) *string {
	for _, p := range u.PhoneNumbers {
		if u.PrimaryPhoneNumberID != nil && p.ID == *u.PrimaryPhoneNumberID {
			return &p.PhoneNumber
		}
	}
	return nil
}

func metadata(raw json.RawMessage) []byte {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	return []byte(raw)
}

// BenchmarkParse compares Parse with decoding the whole user through the
// SDK, the reason Parse reads the fields itself.
func BenchmarkParse(b *testing.B) {
	g := fake.New(1, time.Now())
	u := g.NewUser()
	g.Created(u)
	ev := g.Updated(u)
	b.SetBytes(int64(len(ev.Body)))
	b.Run("Parse", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := clerk.Parse(ev.Body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json+SDK-User", func(b *testing.B) {
		for b.Loop() {
			var e clerk.Event
			if err := json.Unmarshal(ev.Body, &e); err != nil {
				b.Fatal(err)
			}
			if _, err := decodeUser(e.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
