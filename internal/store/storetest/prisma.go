package storetest

import (
	"embed"
	"fmt"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The tables of testdata/prisma are exactly what `prisma migrate diff
// --from-empty` (Prisma 6.19.3) wrote for each schema, on each driver:
// users, organizations and memberships; HOWTO.txt says how they were made.
//
//go:embed testdata/prisma
var prismaFS embed.FS

// PrismaTable is an app's tables as Prisma created them — users,
// organizations and memberships — and the mapping that writes into them.
type PrismaTable struct {
	Name    string
	DDL     string
	YAML    []byte // the mapping file
	Mapping mapping.Mapping
	// EmailRequired: the model's email is a required String.
	EmailRequired bool
}

// PrismaTables are the Prisma-made tables for driver (mapping.SQLite or
// mapping.Postgres) that the whole conformance suite passes on: the seed
// plan's models (with relationMode = "prisma", so no foreign key) and
// snake_case @@map models.
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
	return PrismaTable{Name: name, DDL: string(ddl), YAML: yaml, Mapping: m, EmailRequired: name != "snake"}, nil
}

// PrismaForeignKeys is the seed plan's schema with Prisma's default
// relationMode: the membership's organizationId and userId are foreign
// keys (ON DELETE RESTRICT), and @@unique([organizationId, userId]). The
// conformance suite does not pass on it — a membership cannot arrive
// before its parents — which is what doctor warns about; see
// RunPrismaForeignKeys.
func PrismaForeignKeys(driver string) PrismaTable {
	p, err := prismaTable("foreign-keys", driver)
	if err != nil {
		panic(err) // embedded at build time
	}
	return p
}

// Harness is the conformance suite's harness over this table, with open
// opening a store with a mapping after running the DDL.
func (p PrismaTable) Harness(open func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error)) Harness {
	return Harness{
		Open: func(t *testing.T, mode store.DeleteMode) (store.Store, func(string) error) {
			return open(t, withDelete(p.Mapping, mode), p.DDL)
		},
		Mapping:       p.Mapping,
		EmailRequired: p.EmailRequired,
	}
}

// withDelete is m with deletions set to mode in every table that has a
// soft-delete column; a table without one (the seed plan's User) keeps
// hard deletes, so that the suite can soft-delete the organizations of a
// schema whose users are deleted for good.
func withDelete(m mapping.Mapping, mode store.DeleteMode) mapping.Mapping {
	m = m.WithDelete(mode)
	if m.DeleteColumn == "" {
		m.OnDelete = store.HardDelete
	}
	for i := range m.Others {
		if m.Others[i].DeleteColumn == "" {
			m.Others[i].OnDelete = store.HardDelete
		}
	}
	return m
}
