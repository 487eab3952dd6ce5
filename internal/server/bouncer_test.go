package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	direct := pgtest.URL(t)
	// Settings that change how values read as text: the statements must
	// keep to binary formats (pgx's exec mode did not).
	conn, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	db := pgx.Identifier{conn.Config().Database}.Sanitize()
	_, err = conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %[1]s SET datestyle = 'SQL, DMY'; ALTER DATABASE %[1]s SET bytea_output = 'escape';
		ALTER DATABASE %[1]s SET array_nulls = off`, db))
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dsn := withParams(pgtest.Bouncer(t, direct), "pgbouncer=true&connection_limit=8&schema=public")
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
			st := replicas[sent%2]
			d, c, err := storetest.Delivery(fmt.Sprintf("msg_bouncer_%d", sent), ev)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				if o, err := st.Apply(ctx, d, c); err != nil || o != store.Applied {
					errs <- fmt.Errorf("%s %s: %s %v, want applied", d.Type, d.SvixID, o, err)
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
	for _, rec := range recs {
		if rec.UserID != users[1].ID { // not deleted: its bodies are kept
			continue
		}
		if r, err := replicas[1].Delivery(ctx, rec.SvixID); err != nil || len(r.Payload) == 0 || r.Payload[0] != '{' {
			t.Fatalf("a delivery's stored body: %.40q, %v; want the JSON", r.Payload, err)
		}
	}
}

// Behind PgBouncer the URL's schema cannot be sent at connection: clerk-sync
// checks that the server's search_path leads there, and says what to do
// when it does not, rather than make its tables elsewhere.
func TestSchemaThroughPgBouncer(t *testing.T) {
	ctx := context.Background()
	direct := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA "MyApp"`); err != nil {
		t.Fatal(err)
	}
	dsn := withParams(pgtest.Bouncer(t, direct), "pgbouncer=true&schema=MyApp")
	for name, open := range map[string]func() error{
		"store":  func() error { _, _, err := OpenStore(ctx, dsn, mapping.Default()); return err },
		"view":   func() error { _, _, err := OpenView(ctx, dsn, mapping.Default()); return err },
		"doctor": func() error { _, _, err := Doctor(ctx, dsn, mapping.Default()); return err },
	} {
		err := open()
		if want := `asks for schema=MyApp, but behind PgBouncer (pgbouncer=true) clerk-sync cannot set it on its connections, and their search_path leads to "public": make it the role's default (ALTER ROLE … SET search_path = "MyApp"`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error saying %q", name, err, want)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'clerk_sync%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d clerk_sync tables made (%v), want none", n, err)
	}

	// Once the server's search_path leads there (here the database's; the
	// pooler's open connections keep the old one: a new pooler), it works.
	if _, err := conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s SET search_path = "MyApp"`, pgx.Identifier{conn.Config().Database}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	dsn = withParams(pgtest.Bouncer(t, direct), "pgbouncer=true&schema=MyApp")
	st, _, err := OpenStore(ctx, dsn, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'MyApp' AND tablename = 'clerk_sync_entities'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf(`clerk_sync_entities in "MyApp": %d (%v), want 1`, n, err)
	}
}
