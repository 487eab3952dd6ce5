// Package prisma sets up the benchmarks' users tables as Prisma creates
// them: the app's own table and its clerk-sync.yaml, for the mapped-table
// figures.
package prisma

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" driver of database/sql

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// Prepare creates the app's users table named table ("seed-plan" or
// "snake" of storetest.PrismaTables; "default" is clerk-sync's own, made
// by clerk-sync) as Prisma creates it, and writes its mapping file to
// yamlPath. It returns the mapping and the arguments that make
// clerk-sync use it.
func Prepare(ctx context.Context, table, storeName, db, yamlPath string) (mapping.Mapping, []string, error) {
	if table == "default" {
		return mapping.Default(), nil, nil
	}
	p, err := storetest.PrismaTableNamed(table, storeName)
	if err != nil {
		return mapping.Mapping{}, nil, err
	}
	if storeName == "postgres" {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return p.Mapping, nil, err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, p.DDL)
		if err != nil {
			return p.Mapping, nil, fmt.Errorf("create the %s table: %w", table, err)
		}
	} else {
		sdb, err := sql.Open("sqlite", db)
		if err != nil {
			return p.Mapping, nil, err
		}
		defer sdb.Close()
		if _, err := sdb.ExecContext(ctx, p.DDL); err != nil {
			return p.Mapping, nil, fmt.Errorf("create the %s table: %w", table, err)
		}
	}
	// The benchmark's deletes are hard, as in the default run.
	m := p.Mapping.WithDelete(store.HardDelete)
	if err := os.WriteFile(yamlPath, p.YAML, 0o600); err != nil {
		return m, nil, err
	}
	return m, []string{"--config", yamlPath, "--on-delete", string(store.HardDelete)}, nil
}
