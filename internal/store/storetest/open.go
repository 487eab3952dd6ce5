package storetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
)

// SQLite opens a store with the default mapping on a new SQLite file in
// t.TempDir(), closed when the test ends, with a function that runs SQL on
// the same file.
func SQLite(t *testing.T, mode store.DeleteMode) (store.Store, func(string) error) {
	return SQLiteWith(t, mapping.Default().WithDelete(mode), "")
}

// SQLiteWith is SQLite with mapping m, after running ddl (the app's own
// table, as its migrations create it) on the new file.
func SQLiteWith(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
	return SQLiteAt(t, filepath.Join(t.TempDir(), "test.db"), m, ddl)
}

// SQLiteAt is SQLiteWith on the file at path.
func SQLiteAt(t *testing.T, path string, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
	exec := func(q string) error {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(q)
		return err
	}
	if ddl != "" {
		if err := exec(ddl); err != nil {
			t.Fatalf("create the app's table: %v", err)
		}
	}
	st, err := sqlite.Open(context.Background(), path, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, exec
}

// Postgres opens a store with the default mapping on a fresh database of
// the test cluster (see pgtest.URL), closed when the test ends, with a
// function that runs SQL on that database. The package's TestMain must
// call pgtest.Main.
func Postgres(t *testing.T, mode store.DeleteMode) (store.Store, func(string) error) {
	return PostgresAt(t, pgtest.URL(t), mode)
}

// PostgresAt is Postgres on a database the caller chose.
func PostgresAt(t *testing.T, url string, mode store.DeleteMode) (store.Store, func(string) error) {
	return PostgresWith(t, url, mapping.Default().WithDelete(mode), "")
}

// PostgresWith opens a store with mapping m on the database at url, after
// running ddl (the app's own table) there when ddl is not empty.
func PostgresWith(t *testing.T, url string, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
	exec := func(q string) error {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), q)
		return err
	}
	if ddl != "" {
		if err := exec(ddl); err != nil {
			t.Fatalf("create the app's table: %v", err)
		}
	}
	st, err := postgres.Open(context.Background(), url, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, exec
}

// PostgresPair opens two stores on one fresh database of the test cluster,
// like two replicas of the receiver.
func PostgresPair(t *testing.T) (store.Store, store.Store) {
	return PostgresPairWith(t, mapping.Default(), "")
}

// PostgresPairWith is PostgresPair with mapping m over the app's table
// that ddl creates.
func PostgresPairWith(t *testing.T, m mapping.Mapping, ddl string) (store.Store, store.Store) {
	url := pgtest.URL(t)
	a, _ := PostgresWith(t, url, m, ddl)
	b, _ := PostgresWith(t, url, m, "")
	return a, b
}
