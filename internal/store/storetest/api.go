package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// fromAPI applies ev's user as backfill does: no svix-id, no ledger row.
func (e *env) fromAPI(ev fake.Event) store.Outcome {
	e.t.Helper()
	parsed, c, err := clerk.Parse(ev.Body)
	if err != nil || c == nil {
		e.t.Fatalf("generated %s does not parse: %v", ev.Type, err)
	}
	o, err := e.st.Apply(context.Background(), store.Delivery{Type: "backfill", UserID: c.UserID(), ReceivedAt: time.Now()}, *c)
	if err != nil {
		e.t.Fatalf("%s from the API: %v", parsed.Type, err)
	}
	return o
}

// Changes read from the Backend API go through the same rules and leave
// the ledger alone.
func runAPIChanges(t *testing.T, h Harness) {
	t.Run("one at a time", func(t *testing.T) { runAPIOneByOne(t, h) })
	t.Run("a page at once", func(t *testing.T) { runAPIBulk(t, h) })
}

// runAPIBulk checks a store's ApplyAll, when it has one, against the
// rules: the outcomes and rows that Apply gives, and nothing applied of a
// page that the database refuses in part.
func runAPIBulk(t *testing.T, h Harness) {
	e := newEnv(t, h, store.HardDelete)
	bulk, ok := e.st.(store.BulkApplier)
	if !ok {
		t.Skip("the store applies changes one at a time")
	}
	parse := func(evs ...fake.Event) []store.Change {
		t.Helper()
		var cs []store.Change
		for _, ev := range evs {
			_, c, err := clerk.Parse(ev.Body)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, *c)
		}
		return cs
	}
	fresh, newer, gone, again := e.withEmail(), e.withEmail(), e.withEmail(), e.withEmail()
	e.expect(store.Applied, e.g.Created(again))
	old := e.g.Created(newer)
	e.expect(store.Applied, e.g.Updated(newer))
	e.expect(store.Applied, e.g.Deleted(gone))
	late := e.g.Updated(gone) // newer than the tombstone: only the tombstone stops it
	gone.Deleted = true
	page := parse(e.g.Created(fresh), old, late, e.g.Updated(again))
	got, err := bulk.ApplyAll(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Outcome{store.Applied, store.Stale, store.Stale, store.Applied}; !slices.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	e.wantRows(fresh, newer, gone, again)
	if s, _ := e.state(fresh.ID); s.Version != fresh.UpdatedAt {
		t.Fatalf("state of %s: %+v, want version %d", fresh.ID, s, fresh.UpdatedAt)
	}
	// A page that the table refuses in part changes nothing.
	col := e.column(mapping.Email)
	if err := e.exec(fmt.Sprintf(`CREATE UNIQUE INDEX bulk_email ON %s (%s)`, e.m.QualifiedName(), col)); err != nil {
		t.Fatal(err)
	}
	a, b := e.withEmail(), e.withEmail()
	b.Emails[0].Address = a.Emails[0].Address
	if _, err := bulk.ApplyAll(context.Background(), parse(e.g.Created(a), e.g.Created(b))); !errors.Is(err, store.ErrPermanent) {
		t.Fatalf("a page with two users of one email under a unique index: %v, want ErrPermanent", err)
	}
	if _, ok := e.state(a.ID); ok {
		t.Fatal("a refused page left a version behind")
	}
	e.wantRows(fresh, newer, gone, again)
}

func runAPIOneByOne(t *testing.T, h Harness) {
	e := newEnv(t, h, store.HardDelete)
	u, newer, gone := e.g.NewUser(), e.g.NewUser(), e.g.NewUser()
	if o := e.fromAPI(e.g.Created(u)); o != store.Applied {
		t.Fatalf("a user only the API knows: %s, want applied", o)
	}
	if o := e.fromAPI(e.g.Created(u)); o != store.Stale {
		t.Fatalf("the same user read again: %s, want stale", o)
	}
	old := e.g.Created(newer)
	e.expect(store.Applied, e.g.Updated(newer))
	if o := e.fromAPI(old); o != store.Stale {
		t.Fatalf("an API read older than a webhook: %s, want stale", o)
	}
	created := e.g.Created(gone)
	e.expect(store.Applied, e.g.Deleted(gone))
	if o := e.fromAPI(created); o != store.Stale {
		t.Fatalf("a deleted user read from the API: %s, want stale", o)
	}
	e.wantRows(u, newer, gone)
	recs, err := e.st.History(context.Background(), store.Before(time.Now().Add(time.Hour)), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("the ledger holds %d rows, want the 2 webhooks only: %+v", len(recs), recs)
	}
}
