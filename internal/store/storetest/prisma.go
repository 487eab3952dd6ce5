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
	YAML    []byte // the mapping file
	Mapping mapping.Mapping
	// EmailRequired: the model's email is a required String.
	EmailRequired bool
}

// PrismaTables are the Prisma-made tables for driver (mapping.SQLite or
// mapping.Postgres): the seed plan's model and a snake_case @@map model.
func PrismaTables(driver string) []PrismaTable {
	var out []PrismaTable
	for _, name := range []string{"seed-plan", "snake"} {
		p, err := prismaTable(name, driver)
		if err != nil {
			panic(err) // embedded at build time
		}
		out = append(out, p)
	}
	return out
}

// PrismaTableNamed is the table of PrismaTables called name.
func PrismaTableNamed(name, driver string) (PrismaTable, error) {
	if name != "seed-plan" && name != "snake" {
		return PrismaTable{}, fmt.Errorf("no Prisma table %q (want seed-plan or snake)", name)
	}
	return prismaTable(name, driver)
}

func prismaTable(name, driver string) (PrismaTable, error) {
	ddl, err := prismaFS.ReadFile(fmt.Sprintf("testdata/prisma/%s.%s.sql", name, driver))
	if err != nil {
		return PrismaTable{}, err
	}
	yaml, err := prismaFS.ReadFile("testdata/prisma/" + name + ".yaml")
	if err != nil {
		return PrismaTable{}, err
	}
	m, err := mapping.Parse(yaml)
	if err != nil {
		return PrismaTable{}, fmt.Errorf("%s.yaml: %w", name, err)
	}
	return PrismaTable{Name: name, DDL: string(ddl), YAML: yaml, Mapping: m, EmailRequired: name == "seed-plan"}, nil
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
