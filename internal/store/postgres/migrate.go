package postgres

import (
	"context"
	"embed"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key that serialises replicas starting
// at the same time ("clerksyn" in ASCII).
const migrationLock = 0x636c65726b73796e

// migrate applies the embedded migrations that the database lacks, in one
// transaction under an advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	all, err := store.Migrations(migrations, "migrations")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
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
		return nil
	})
}

func hasParam(rawURL, name string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Query().Has(name)
}

// DefaultTable is the DDL of the default users table, as the first
// migration creates it: what `clerk-sync schema` prints.
func DefaultTable() string { return store.DefaultTable(migrations, "migrations") }
