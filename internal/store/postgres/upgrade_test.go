package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// A database made by the release before entities (testdata: pg_dump
// --inserts of users created, updated and deleted through clerk-sync and
// mockclerk, migration 7, with that release's apply function) upgrades in
// place: its users, versions and tombstones survive.
func TestUpgradeFromUserOnlyRelease(t *testing.T) {
	ctx := context.Background()
	dump, err := os.ReadFile("testdata/clerk-sync-v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	var script []string
	for line := range strings.Lines(string(dump)) {
		if !strings.HasPrefix(line, `\`) { // psql's own commands (\restrict)
			script = append(script, line)
		}
	}
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, strings.Join(script, "")); err != nil {
		t.Fatalf("restore the old dump: %v", err)
	}
	if _, err := conn.Exec(ctx, `SET search_path = public`); err != nil {
		t.Fatal(err)
	}
	var before storetest.Before
	rows, _ := conn.Query(ctx, `SELECT user_id, version, digest, deleted FROM clerk_sync_users ORDER BY user_id COLLATE "C"`)
	before.States, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.State, error) {
		s := store.State{Kind: store.KindUser}
		return s, r.Scan(&s.ID, &s.Version, &s.Digest, &s.Deleted)
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `SELECT "clerkId" FROM "User" ORDER BY "clerkId" COLLATE "C"`)
	if before.Users, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT svix_id FROM clerk_sync_deliveries LIMIT 1`).Scan(&before.SvixID); err != nil {
		t.Fatal(err)
	}

	st, err := postgres.Open(ctx, url, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.CheckUpgrade(t, st, before)
}

// Links kept for deleted entities by the release before migration 9 go
// when the database upgrades.
func TestUpgradeDropsLinksOfDeleted(t *testing.T) {
	url := pgtest.URL(t)
	storetest.CheckLinksUpgrade(t, func(t *testing.T) (store.Store, func(string) error) {
		return storetest.PostgresWith(t, url, mapping.Default(), "")
	})
}
