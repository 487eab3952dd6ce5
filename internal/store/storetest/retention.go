package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// applyAt sends ev under svix-id id as if it had been received at t.
func (e *env) applyAt(id string, ev fake.Event, at time.Time) store.Outcome {
	e.t.Helper()
	d, c, err := Delivery(id, ev)
	if err != nil {
		e.t.Fatal(err)
	}
	d.ReceivedAt = at
	o, err := e.st.Apply(context.Background(), d, c)
	if err != nil {
		e.t.Fatalf("%s: %v", id, err)
	}
	return o
}

// prune runs Prune until it has nothing left to do and returns the total.
func (e *env) prune(c store.Cutoffs, limit int) store.Pruned {
	e.t.Helper()
	var total store.Pruned
	for range 2000 {
		p, err := e.st.Prune(context.Background(), c, limit)
		if err != nil {
			e.t.Fatal(err)
		}
		if p.Yielded { // the writer was busy with deliveries a moment ago
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if p.Payloads > limit || p.Deliveries > limit {
			e.t.Fatalf("one prune removed %+v, more than the batch of %d", p, limit)
		}
		total.Payloads += p.Payloads
		total.Deliveries += p.Deliveries
		if p == (store.Pruned{}) {
			return total
		}
	}
	e.t.Fatal("prune never finished")
	return total
}

func runRetention(t *testing.T, h Harness) {
	now := time.Now().UTC()
	t.Run("bodies and svix-ids go by age, in batches; versions stay", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		ages := map[string]time.Duration{ // svix-id → age
			"msg_ancient_1": 100 * store.Day, "msg_ancient_2": 95 * store.Day,
			"msg_old_1": 40 * store.Day, "msg_old_2": 35 * store.Day, "msg_old_3": 31 * store.Day,
			"msg_new": store.Day,
		}
		events := map[string]fake.Event{}
		for id, age := range ages {
			u := e.g.NewUser()
			events[id] = e.g.Created(u)
			if o := e.applyAt(id, events[id], now.Add(-age)); o != store.Applied {
				t.Fatalf("%s: %s", id, o)
			}
		}
		got := e.prune(store.DefaultRetention.Cutoffs(now), 2)
		if got != (store.Pruned{Payloads: 3, Deliveries: 2}) {
			t.Fatalf("pruned %+v, want 3 bodies and 2 rows", got)
		}
		for id, age := range ages {
			r, err := e.st.Delivery(context.Background(), id)
			switch {
			case age > 90*store.Day:
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s (%s old) is still in the ledger: %v", id, age, err)
				}
			case err != nil:
				t.Errorf("%s: %v", id, err)
			case age > 30*store.Day && len(r.Payload) != 0:
				t.Errorf("%s (%s old) keeps its body", id, age)
			case age < 30*store.Day && !bytes.Equal(r.Payload, events[id].Body):
				t.Errorf("%s (%s old) lost its body", id, age)
			}
		}
		// A pruned svix-id delivered again meets the version it set.
		if o := e.applyAt("msg_ancient_1", events["msg_ancient_1"], now); o != store.Stale {
			t.Fatalf("a pruned delivery sent again: %s, want stale", o)
		}
		if got := e.prune(store.Cutoffs{}, 2); got != (store.Pruned{}) {
			t.Fatalf("zero cutoffs pruned %+v", got)
		}
	})
	t.Run("a deleted user's bodies go at once", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, other := e.withEmail(), e.withEmail()
		created := e.g.Created(u)
		ids := []string{e.expect(store.Applied, created), e.expect(store.Applied, e.g.Updated(u))}
		kept := e.expect(store.Applied, e.g.Created(other))
		late := e.g.Updated(u)
		e.expect(store.Applied, e.g.Deleted(u))
		ids = append(ids, e.expect(store.Stale, late), e.expect(store.Stale, created))
		for _, id := range ids {
			if r := e.record(id); len(r.Payload) != 0 {
				t.Errorf("%s of the deleted user keeps its body: %.80s…", id, r.Payload)
			}
		}
		if r := e.record(kept); len(r.Payload) == 0 {
			t.Error("another user's body was erased")
		}
		if st, ok := e.state(u.ID); !ok || !st.Deleted {
			t.Fatalf("state %+v, want a tombstone", st)
		}
	})
}

// Erasure fills st with n users, each created and updated and each with
// an email, and returns the primary email of one of them and a function
// that applies that user's user.deleted: what a test of erasure looks for
// in the database before and after.
func Erasure(t *testing.T, st store.Store, n int) (email string, erase func()) {
	t.Helper()
	g := fake.New(7, time.Now().Add(-time.Hour))
	g.Profile = fake.ProfileEmailRequired
	var doomed *fake.User
	for i := range n {
		u := g.NewUser()
		MustApply(t, st, fmt.Sprintf("msg_erasure_%d_created", i), g.Created(u))
		MustApply(t, st, fmt.Sprintf("msg_erasure_%d_updated", i), g.Updated(u))
		if i == n/2 {
			doomed = u
		}
	}
	return doomed.Emails[len(doomed.Emails)-1].Address, func() {
		t.Helper()
		MustApply(t, st, "msg_erasure_deleted", g.Deleted(doomed))
	}
}
