package storetest

import (
	"embed"
	"fmt"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The users tables of testdata/prisma are exactly what `prisma migrate
// diff --from-empty` (Prisma 6.19.3) wrote for two models, on each
// driver; HOWTO.txt says how they were made.
//
//go:embed testdata/prisma
var prismaFS embed.FS

// PrismaTable is an app's users table as Prisma created it, and the
// mapping that writes into it.
type PrismaTable struct {
	Name    string
	DDL     string
	Mapping mapping.Mapping
	// EmailRequired: the model's email is a required String.
	EmailRequired bool
}

// PrismaTables are the Prisma-made tables for driver (mapping.SQLite or
// mapping.Postgres): the seed plan's model and a snake_case @@map model.
func PrismaTables(t *testing.T, driver string) []PrismaTable {
	var out []PrismaTable
	for _, name := range []string{"seed-plan", "snake"} {
		ddl, err := prismaFS.ReadFile(fmt.Sprintf("testdata/prisma/%s.%s.sql", name, driver))
		if err != nil {
			t.Fatal(err)
		}
		yaml, err := prismaFS.ReadFile("testdata/prisma/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		m, err := mapping.Parse(yaml)
		if err != nil {
			t.Fatalf("%s.yaml: %v", name, err)
		}
		out = append(out, PrismaTable{Name: name, DDL: string(ddl), Mapping: m, EmailRequired: name == "seed-plan"})
	}
	return out
}

// Harness is the conformance suite's harness over this table, with open
// opening a store with a mapping after running the DDL.
func (p PrismaTable) Harness(open func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error)) Harness {
	return Harness{
		Open: func(t *testing.T, mode store.DeleteMode) (store.Store, func(string) error) {
			return open(t, p.Mapping.WithDelete(mode), p.DDL)
		},
		Mapping:       p.Mapping,
		EmailRequired: p.EmailRequired,
	}
}
