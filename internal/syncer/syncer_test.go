package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/syncer"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// rawJSON is a value to write into a body as it is.
type rawJSON []byte

// A body holding what one database stores and another refuses is refused
// alike by both stores, as malformed and recorded; an updated_at after
// year 9999 is refused rather than freezing the user; a delivery with
// no body at all is refused and recorded too.
func TestBodiesNoStoreCanKeepAlike(t *testing.T) {
	for driver, open := range map[string]func(*testing.T, store.DeleteMode) (store.Store, func(string) error){
		"sqlite": storetest.SQLite, "postgres": storetest.Postgres,
	} {
		t.Run(driver, func(t *testing.T) {
			st, _ := open(t, store.HardDelete)
			s := syncer.New(st)
			g := fake.New(7, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
			u := g.NewUser()
			created := g.Created(u)
			edit := func(path string, v any) []byte {
				raw, ok := v.(rawJSON)
				b, err := sjson.SetBytes(created.Body, path, v)
				if ok {
					b, err = sjson.SetRawBytes(created.Body, path, raw)
				}
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			for name, body := range map[string][]byte{
				"NUL in the id":         edit("data.id", u.ID+"\x00"),
				"NUL in a name":         edit("data.first_name", "a\x00b"),
				"NUL in the type":       edit("type", "user.created\x00"),
				"lone surrogate":        edit("data.last_name", rawJSON(`"x\ud800"`)),
				"invalid UTF-8":         edit("data.username", rawJSON("\"\xff\"")),
				"updated_at after 9999": edit("data.updated_at", int64(253402300800000)),
				"no body at all":        nil,
			} {
				t.Run(name, func(t *testing.T) {
					id := fmt.Sprintf("msg_%x", name)
					res := s.Apply(context.Background(), id, body)
					if res.Outcome != store.Rejected || !errors.Is(res.Err, clerk.ErrMalformed) {
						t.Fatalf("got %s, %v; want rejected as malformed", res.Outcome, res.Err)
					}
					if r, err := st.Delivery(context.Background(), id); err != nil || r.Outcome != store.Rejected {
						t.Fatalf("ledger row %+v, %v", r, err)
					}
				})
			}
			if res := s.Apply(context.Background(), "msg_created", created.Body); res.Outcome != store.Applied || res.Err != nil {
				t.Fatalf("the user's own created after the refused ones: %s %v", res.Outcome, res.Err)
			}
		})
	}
}

// A mapping that keeps users only records organization and membership
// events as ignored, on both stores.
func TestKindsNotMappedAreIgnored(t *testing.T) {
	for driver, open := range map[string]func(*testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, _ := storetest.SQLiteWith(t, mapping.DefaultUsers(), "")
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			st, _ := storetest.PostgresWith(t, pgtest.URL(t), mapping.DefaultUsers(), "")
			return st
		},
	} {
		t.Run(driver, func(t *testing.T) {
			st := open(t)
			s := syncer.New(st)
			g := fake.New(9, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
			u, o := g.NewUser(), g.NewOrg(nil)
			for i, ev := range []fake.Event{g.OrgCreated(o), g.MemberCreated(g.NewMember(o, u)), g.OrgDeleted(o)} {
				id := fmt.Sprintf("msg_kind_%d", i)
				if res := s.Apply(context.Background(), id, ev.Body); res.Outcome != store.Ignored || res.Err != nil {
					t.Fatalf("%s: %s %v, want ignored", ev.Type, res.Outcome, res.Err)
				}
				if r, err := st.Delivery(context.Background(), id); err != nil || r.Outcome != store.Ignored {
					t.Fatalf("%s: ledger %+v %v", ev.Type, r, err)
				}
			}
			if _, err := st.Rows(context.Background(), store.KindOrganization); !errors.Is(err, store.ErrNotKept) {
				t.Fatalf("Rows(organization): %v, want ErrNotKept", err)
			}
			if res := s.Apply(context.Background(), "msg_user", g.Created(u).Body); res.Outcome != store.Applied {
				t.Fatalf("user.created: %s %v", res.Outcome, res.Err)
			}
		})
	}
}
