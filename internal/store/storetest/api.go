package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
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
	recs, err := e.st.History(context.Background(), time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("the ledger holds %d rows, want the 2 webhooks only: %+v", len(recs), recs)
	}
}
