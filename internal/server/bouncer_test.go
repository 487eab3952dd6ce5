package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// Behind PgBouncer in transaction mode, the pooler of Supabase and Neon,
// whose URLs a Prisma app marks ?pgbouncer=true: a server connection
// serves one transaction, then another client's. The sync migrates,
// applies a stream of deliveries from many senders (group commits on a
// pool of 4 server connections) and reads its ledger through it, as two
// replicas.
func TestThroughPgBouncer(t *testing.T) {
	ctx := context.Background()
	// As Supabase's guide writes it; schema=public asks for what the
	// server's default search_path gives.
	dsn := withParams(pgtest.Bouncer(t, pgtest.URL(t)), "pgbouncer=true&connection_limit=8&schema=public")
	var replicas []store.Store
	for range 2 {
		st, _, err := OpenStore(ctx, dsn, mapping.Default())
		if err != nil {
			t.Fatalf("open the store through PgBouncer: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		replicas = append(replicas, st)
	}

	g := fake.New(3, time.Now().Add(-time.Hour))
	users := make([]*fake.User, 40)
	for i := range users {
		users[i] = g.NewUser()
	}
	// Three waves, each from 40 senders at once: every user created, then
	// updated, then one in five deleted.
	var waves [3][]fake.Event
	for i, u := range users {
		waves[0] = append(waves[0], g.Created(u))
		waves[1] = append(waves[1], g.Updated(u))
		if i%5 == 0 {
			waves[2] = append(waves[2], g.Deleted(u))
		}
	}
	sent := 0
	for _, wave := range waves {
		var wg sync.WaitGroup
		errs := make(chan error, len(wave))
		for _, ev := range wave {
			sent++
			id, st := fmt.Sprintf("msg_bouncer_%d", sent), replicas[sent%2]
			wg.Go(func() {
				if o, err := storetest.Apply(t, st, id, ev); err != nil || o != store.Applied {
					errs <- fmt.Errorf("%s %s: %s %v, want applied", ev.Type, id, o, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	if diff := storetest.DiffUsers(storetest.MustUsers(t, replicas[1]), storetest.Rows(mapping.Default(), users...)); diff != "" {
		t.Fatalf("users table:\n%s", diff)
	}
	// What doctor, mockclerk check and the inspector's relay mode read
	// through: a view, read-only.
	view, _, err := OpenView(ctx, dsn, mapping.Default())
	if err != nil {
		t.Fatalf("open a view through PgBouncer: %v", err)
	}
	defer view.Close()
	if rows, err := view.Users(ctx); err != nil || len(rows) != len(users)-len(waves[2]) {
		t.Fatalf("the view reads %d users, %v; want %d", len(rows), err, len(users)-len(waves[2]))
	}
	recs, err := replicas[0].History(ctx, store.Before(time.Now().Add(time.Minute)), 500)
	if err != nil || len(recs) != sent {
		t.Fatalf("history: %d deliveries, %v; want %d", len(recs), err, sent)
	}
}
