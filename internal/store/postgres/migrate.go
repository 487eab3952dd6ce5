package postgres

import (
	"context"
	"embed"
	"errors"
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
func migrate(ctx context.Context, pool *pgxpool.Pool, m mapping.Mapping) (map[store.Kind]*table, error) {
	all, err := store.Migrations(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var tables map[store.Kind]*table
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		schema, err := currentSchema(ctx, tx)
		if err != nil {
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
		tables = map[store.Kind]*table{}
		for _, p := range m.Projections() {
			t, err := prepare(ctx, tx, p)
			if err != nil {
				return err
			}
			tables[p.EntityKind()] = t
		}
		// Each kind's function removes the rows of its children's tables.
		for kind, t := range tables {
			var children []*table
			for _, c := range kind.Children() {
				if ct, ok := tables[c]; ok {
					children = append(children, ct)
				}
			}
			t.setFunction(schema, children)
			t.setBulk(schema)
			if err := ensureFunction(ctx, tx, t.fn); err != nil {
				return err
			}
		}
		return nil
	})
	return tables, err
}

// prepare creates the default table when m is the default mapping of its
// kind, and checks the table against m: findings that would fail
// deliveries are an error wrapping mapping.ErrMismatch.
func prepare(ctx context.Context, tx pgx.Tx, m mapping.Mapping) (*table, error) {
	info, err := inspect(ctx, tx, m)
	if err != nil {
		return nil, err
	}
	// Only a table that is not there is created; an existing one is the
	// app's, and Check says what it lacks.
	if m.IsDefault() && !info.Exists {
		if _, err := tx.Exec(ctx, m.DDL(mapping.Postgres, true)); err != nil {
			return nil, fmt.Errorf("create the default %ss table: %w", m.EntityKind(), err)
		}
		if info, err = inspect(ctx, tx, m); err != nil {
			return nil, err
		}
	}
	if failing := mapping.Failing(mapping.Check(m, mapping.Postgres, info)); len(failing) > 0 {
		return nil, mapping.Mismatch(m, failing)
	}
	return newTable(m, info), nil
}

// ensureFunction creates fn when its schema lacks it, then checks that the
// function of that name is ours: owned by the role we connect as, with
// the source we generate. A role that may create functions in the schema
// could otherwise have created it first, and every delivery would run its
// code with our privileges.
func ensureFunction(ctx context.Context, tx pgx.Tx, fn function) error {
	const look = `
		SELECT pg_get_userbyid(p.proowner), current_user, p.prosrc, p.prosecdef OR p.proconfig IS NOT NULL
		FROM pg_proc p WHERE p.oid = to_regprocedure($1)`
	var (
		owner, me, source string
		altered           bool
	)
	err := tx.QueryRow(ctx, look, fn.signature).Scan(&owner, &me, &source, &altered)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := tx.Exec(ctx, fn.create); err != nil {
			return fmt.Errorf("create %s: %w", fn.name, err)
		}
		err = tx.QueryRow(ctx, look, fn.signature).Scan(&owner, &me, &source, &altered)
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", fn.name, err)
	}
	switch {
	case owner != me:
		return fmt.Errorf("refusing to use %s: it belongs to role %q, not to %q that clerk-sync connects as, "+
			"so another role created it and calling it would run that role's code with clerk-sync's privileges; "+
			"find out who made it, drop it (DROP FUNCTION %s), and revoke CREATE on the schema from roles that should not have it",
			fn.name, owner, me, fn.signature)
	case source != fn.source || altered:
		return fmt.Errorf("refusing to use %s: it is not the function clerk-sync generates (its source or settings were changed); "+
			"drop it (DROP FUNCTION %s) and clerk-sync creates it again at start-up", fn.name, fn.signature)
	}
	return nil
}

// currentSchema is the schema where the bookkeeping tables and the apply
// function live: the first schema of the search path that exists.
func currentSchema(ctx context.Context, tx pgx.Tx) (string, error) {
	var (
		schema *string
		path   string
	)
	if err := tx.QueryRow(ctx, `SELECT current_schema(), current_setting('search_path')`).Scan(&schema, &path); err != nil {
		return "", err
	}
	if schema == nil {
		return "", fmt.Errorf("no schema of the search path (%s) exists in this database: "+
			"create it (CREATE SCHEMA …) or fix ?schema= / search_path in the database URL", path)
	}
	return *schema, nil
}

func hasParam(rawURL, name string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Query().Has(name)
}
