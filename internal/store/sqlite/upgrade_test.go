package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// A database file made by the release before entities (testdata: users
// created, updated and deleted through clerk-sync and mockclerk, migration
// 7) upgrades in place: its users, versions and tombstones survive.
func TestUpgradeFromUserOnlyRelease(t *testing.T) {
	old, err := os.ReadFile("testdata/clerk-sync-v1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clerk-sync.db")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	var before storetest.Before
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT user_id, version, digest, deleted FROM clerk_sync_users ORDER BY user_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		s := store.State{Kind: store.KindUser}
		if err := rows.Scan(&s.ID, &s.Version, &s.Digest, &s.Deleted); err != nil {
			t.Fatal(err)
		}
		before.States = append(before.States, s)
	}
	rows.Close()
	rows, err = db.Query(`SELECT "clerkId" FROM "User"`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		before.Users = append(before.Users, id)
	}
	rows.Close()
	sort.Strings(before.Users)
	if err := db.QueryRow(`SELECT svix_id FROM clerk_sync_deliveries LIMIT 1`).Scan(&before.SvixID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := sqlite.Open(context.Background(), path, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.CheckUpgrade(t, st, before)
}

// Links kept for deleted entities by the release before migration 9 go
// when the file upgrades.
func TestUpgradeDropsLinksOfDeleted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clerk-sync.db")
	storetest.CheckLinksUpgrade(t, func(t *testing.T) (store.Store, func(string) error) {
		return storetest.SQLiteAt(t, path, mapping.Default(), "")
	})
}
