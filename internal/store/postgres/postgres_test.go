package postgres_test

import (
	"context"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{Open: storetest.Postgres, Pair: storetest.PostgresPair})
}

// The whole suite again, through a mapping into each table exactly as
// Prisma creates it, with two replicas racing.
func TestConformancePrismaTables(t *testing.T) {
	for _, p := range storetest.PrismaTables(mapping.Postgres) {
		t.Run(p.Name, func(t *testing.T) {
			h := p.Harness(func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
				return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
			})
			h.Pair = func(t *testing.T) (store.Store, store.Store) {
				return storetest.PostgresPairWith(t, p.Mapping.WithDelete(store.HardDelete), p.DDL)
			}
			storetest.Run(t, h)
		})
	}
}

func TestPrimaryKeyFills(t *testing.T) {
	storetest.RunPrimaryKeyFills(t, mapping.Postgres, func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
		return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
	})
}

func TestSoftDeleteColumns(t *testing.T) {
	storetest.RunSoftDeleteColumns(t, mapping.Postgres, func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error) {
		return storetest.PostgresWith(t, pgtest.URL(t), m, ddl)
	})
}

// Replicas that start together must not both migrate.
func TestConcurrentMigrations(t *testing.T) {
	url := pgtest.URL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := postgres.Open(context.Background(), url, mapping.Default())
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// A view reads the users table without migrating anything.
func TestView(t *testing.T) {
	url := pgtest.URL(t)
	v, err := postgres.OpenView(context.Background(), url, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Users(context.Background()); err == nil {
		t.Fatal("read a users table that no one created")
	}
	st, _ := storetest.PostgresAt(t, url, store.HardDelete)
	if _, err := st.Record(context.Background(), store.Delivery{SvixID: "msg_v", Type: "session.created", Payload: []byte("{}")}, store.Ignored, ""); err != nil {
		t.Fatal(err)
	}
	users, err := v.Users(context.Background())
	if err != nil || len(users) != 0 || v.Ping(context.Background()) != nil {
		t.Fatalf("users %v, %v", users, err)
	}
}
