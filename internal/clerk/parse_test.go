package clerk_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

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
		u, err := clerk.DecodeUser([]byte(gjson.GetBytes(body, "data").Raw))
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
			UserID: u.ID, Version: clerk.Millis(u.UpdatedAt), Email: clerk.PrimaryEmail(u),
			FirstName: blank(u.FirstName), LastName: blank(u.LastName), Username: blank(u.Username), ImageURL: blank(u.ImageURL),
			CreatedAt: time.UnixMilli(clerk.Millis(u.CreatedAt)).UTC(), UpdatedAt: time.UnixMilli(clerk.Millis(u.UpdatedAt)).UTC(),
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse: %+v\nSDK:   %+v\nbody: %s", got, want, body)
		}
	}
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
			if _, err := clerk.DecodeUser(e.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
