package fakeclerk

import (
	"fmt"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Writes racing with cursor listings leave the indexes whole: both hold
// every user once, in order, and a full listing finds exactly the users.
func TestConcurrentWritesAndReads(t *testing.T) {
	in := seeded(300)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				u, err := in.Create(Changes{EmailAddresses: []string{fmt.Sprintf("w%d-%d@example.com", w, i)}})
				if err != nil {
					t.Error(err)
					return
				}
				in.Update(u.ID, Changes{FirstName: Field[string]{Set: true, Value: ptr("x")}})
				if i%3 == 0 {
					in.Delete(u.ID)
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				after := ""
				for {
					page, err := in.List(Query{Limit: 50, OrderBy: "created_at", StartingAfter: after})
					if err != nil {
						t.Error(err)
						return
					}
					if len(page) < 50 {
						break
					}
					after = page[len(page)-1].ID
				}
			}
		}()
	}
	wg.Wait()
	want := 300 + 4*(100-34)
	if in.Len() != want || len(in.created.users) != want || len(in.updated.users) != want {
		t.Fatalf("%d users, indexes %d and %d; want %d", in.Len(), len(in.created.users), len(in.updated.users), want)
	}
	for _, x := range []*index{&in.created, &in.updated} {
		if !slices.IsSortedFunc(x.users, func(a, b *User) int { return comparePos(x.pos(a), x.pos(b)) }) {
			t.Fatal("an index is out of order")
		}
	}
	all, _ := in.List(Query{Limit: 500, OrderBy: "updated_at", Offset: 0})
	page2, _ := in.List(Query{Limit: 500, OrderBy: "updated_at", Offset: 500})
	if len(all)+len(page2) != want {
		t.Fatalf("listing found %d users, want %d", len(all)+len(page2), want)
	}
}

func comparePos(a, b pos) int {
	if a.at != b.at {
		return int(a.at - b.at)
	}
	return strings.Compare(a.id, b.id)
}

func TestSecretKey(t *testing.T) {
	a, b := NewSecretKey(), NewSecretKey()
	if clerkapi.CheckKey(a) != nil || a == b || !strings.HasPrefix(a, "sk_test_") {
		t.Fatalf("keys %q %q", a, b)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"limit=500&order_by=-created_at", "starting_after=user_2x&offset=3", "user_id=%2Ba&user_id=-b&user_id[]=c",
		"email_address=A@B.c", "order_by=+updated_at&limit=-1", "limit=99999999999999999999"} {
		f.Add(s)
	}
	in := seeded(20)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: not a Clerk error: %v", raw, err)
			}
			return
		}
		page, err := in.List(q)
		if err == nil && (len(page) > q.Limit || q.Limit < 1 || q.Limit > 500) {
			t.Fatalf("%q: %d users for limit %d", raw, len(page), q.Limit)
		}
		in.Count(q)
	})
}

func FuzzDecodeChanges(f *testing.F) {
	for _, s := range []string{`{"first_name":"Ada","public_metadata":{"a":1}}`, `{"email_address":["a@b.c"],"created_at":"2024-01-02T03:04:05Z"}`,
		`{"first_name":null,"private_metadata":null}`, `{"unknown":1}`, `[]`, `{"username":5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := decodeChanges(body, createFields)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: not a Clerk error: %v", body, err)
			}
			return
		}
		in := NewInstance()
		if u, err := in.Create(c); err == nil {
			u.Render() // panics if the metadata kept is not JSON
		}
	})
}
