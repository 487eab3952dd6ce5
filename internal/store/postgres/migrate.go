package postgres

import (
	"context"
	"embed"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key that serialises replicas starting
// at the same time ("clerksyn" in ASCII).
const migrationLock = 0x636c65726b73796e

// migrate applies the embedded migrations that the database lacks, creates
// the users table when m is the default mapping, checks the table against
// m and creates the apply function for it: all in one transaction under
// an advisory lock, so that replicas starting together take turns.
func migrate(ctx context.Context, pool *pgxpool.Pool, m mapping.Mapping) (*table, error) {
	all, err := store.Migrations(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var t *table
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS clerk_sync_migrations (
			version INTEGER PRIMARY KEY,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM clerk_sync_migrations`).Scan(&current); err != nil {
			return err
		}
		for _, m := range all {
			if m.Version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO clerk_sync_migrations (version) VALUES ($1)`, m.Version); err != nil {
				return err
			}
		}
		t, err = prepare(ctx, tx, m)
		return err
	})
	return t, err
}

// prepare creates the default table when m is the default mapping, checks
// the table against m (findings that would fail deliveries are an error
// wrapping mapping.ErrMismatch) and creates the apply function.
func prepare(ctx context.Context, tx pgx.Tx, m mapping.Mapping) (*table, error) {
	info, err := inspect(ctx, tx, m)
	if err != nil {
		return nil, err
	}
	// Only a table that is not there is created; an existing one is the
	// app's, and Check says what it lacks.
	if m.IsDefault() && !info.Exists {
		if _, err := tx.Exec(ctx, m.DDL(mapping.Postgres, true)); err != nil {
			return nil, fmt.Errorf("create the default users table: %w", err)
		}
		if info, err = inspect(ctx, tx, m); err != nil {
			return nil, err
		}
	}
	if failing := mapping.Failing(mapping.Check(m, mapping.Postgres, info)); len(failing) > 0 {
		return nil, mapping.Mismatch(m, failing)
	}
	t := newTable(m, info)
	// Found through the search path, as the calls find it: each schema of
	// a database (Prisma's ?schema=) has its own.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regprocedure($1) IS NOT NULL`, t.signature).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		if _, err := tx.Exec(ctx, t.create); err != nil {
			return nil, fmt.Errorf("create %s: %w", t.fn, err)
		}
	}
	return t, nil
}

func hasParam(rawURL, name string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Query().Has(name)
}
