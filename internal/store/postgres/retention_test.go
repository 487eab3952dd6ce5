package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// After a user.deleted applies, the user's email is in no table of the
// database: every row of every table is searched as text.
func TestDeletedUserLeavesNoRows(t *testing.T) {
	url := pgtest.URL(t)
	st, _ := storetest.PostgresAt(t, url, store.HardDelete)
	ctx := context.Background()
	email, erase := storetest.Erasure(t, st, 20)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	found := func() []string {
		t.Helper()
		rows, err := conn.Query(ctx, `
			SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
			WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var in []string
		for _, tbl := range tables {
			// A bytea column reads as hex in a row's text: search the
			// escaped form too.
			var hit bool
			q := fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s t WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0)`, tbl)
			if err := conn.QueryRow(ctx, q, email, fmt.Sprintf("%x", email)).Scan(&hit); err != nil {
				t.Fatal(err)
			}
			if hit {
				in = append(in, tbl)
			}
		}
		return in
	}
	if len(found()) == 0 {
		t.Fatalf("no table holds %s before the delete: the test would prove nothing", email)
	}
	erase()
	if in := found(); len(in) > 0 {
		t.Fatalf("%s is still in %v after its user was deleted", email, in)
	}
}
