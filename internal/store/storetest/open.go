package storetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
)

// SQLite opens a store on a new SQLite file in t.TempDir(), closed when the
// test ends, with a function that runs SQL on the same file.
func SQLite(t *testing.T, mode store.DeleteMode) (store.Store, func(string) error) {
	path := filepath.Join(t.TempDir(), "test.db")
	st, err := sqlite.Open(context.Background(), path, mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	exec := func(q string) error {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(q)
		return err
	}
	return st, exec
}

// Postgres opens a store on a fresh database of the test cluster (see
// pgtest.URL), closed when the test ends, with a function that runs SQL on
// that database. The package's TestMain must call pgtest.Main.
func Postgres(t *testing.T, mode store.DeleteMode) (store.Store, func(string) error) {
	return PostgresAt(t, pgtest.URL(t), mode)
}

// PostgresAt is Postgres on a database the caller chose.
func PostgresAt(t *testing.T, url string, mode store.DeleteMode) (store.Store, func(string) error) {
	st, err := postgres.Open(context.Background(), url, mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	exec := func(q string) error {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), q)
		return err
	}
	return st, exec
}

// PostgresPair opens two stores on one fresh database of the test cluster,
// like two replicas of the receiver.
func PostgresPair(t *testing.T) (store.Store, store.Store) {
	url := pgtest.URL(t)
	a, _ := PostgresAt(t, url, store.HardDelete)
	b, _ := PostgresAt(t, url, store.HardDelete)
	return a, b
}
