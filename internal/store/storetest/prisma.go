package storetest

import (
	"embed"
	"errors"
	"fmt"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/fake"
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
// before its parents, which is what doctor warns about (see
// RunPrismaForeignKeys). Deletions of a parent with live members do
// apply: the stores remove the children's rows first.
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

// RunPrismaForeignKeys checks that deliveries into PrismaForeignKeys's
// tables do what doctor's two warnings say: a membership refused by a
// foreign key or by the unique (organization, user) index fails (500),
// and the same delivery is applied when Svix retries it once the row it
// waited for is there. open is the driver's opener, as for Harness.
func RunPrismaForeignKeys(t *testing.T, driver string, open func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error)) {
	h := PrismaForeignKeys(driver).Harness(open)
	// failed applies ev under svix-id id and fails the test unless the
	// database refused it for good and the ledger says so.
	failed := func(e *env, id string, ev fake.Event) {
		e.t.Helper()
		if o, err := e.applyID(id, ev); o != store.Failed || !errors.Is(err, store.ErrPermanent) {
			e.t.Fatalf("%s: %s, %v; want failed (a 500, which Svix retries)", ev.Type, o, err)
		}
		if r := e.record(id); r.Outcome != store.Failed {
			e.t.Fatalf("ledger: %s, want failed", r.Outcome)
		}
	}

	t.Run("a membership before its organization fails until the organization exists", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, o := e.withEmail(), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.Created(u))
		m := e.g.NewMember(o, u)
		created := e.g.MemberCreated(m)
		failed(e, "msg_early", created)
		e.wantKind(store.KindMembership)
		e.expect(store.Applied, e.g.OrgCreated(o))
		e.expectID(store.Applied, "msg_early", created) // Svix's retry
		e.wantKind(store.KindMembership, m)
	})

	t.Run("a membership re-created before its predecessor's deletion fails until the deletion", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, o := e.withEmail(), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.Created(u))
		e.expect(store.Applied, e.g.OrgCreated(o))
		old := e.g.NewMember(o, u)
		e.expect(store.Applied, e.g.MemberCreated(old))
		left := e.g.MemberDeleted(old)
		again := e.g.NewMember(o, u) // the user joins again: a new membership id
		rejoined := e.g.MemberCreated(again)
		failed(e, "msg_rejoined", rejoined)
		e.expect(store.Applied, left)
		e.expectID(store.Applied, "msg_rejoined", rejoined)
		e.wantKind(store.KindMembership, again)
	})

	t.Run("deleting an organization or a user with members applies under ON DELETE RESTRICT", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, v, o := e.withEmail(), e.withEmail(), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.Created(u))
		e.expect(store.Applied, e.g.Created(v))
		e.expect(store.Applied, e.g.OrgCreated(o))
		mu, mv := e.g.NewMember(o, u), e.g.NewMember(o, v)
		e.expect(store.Applied, e.g.MemberCreated(mu))
		e.expect(store.Applied, e.g.MemberCreated(mv))
		e.expect(store.Applied, e.g.Deleted(u)) // its membership's row goes first
		e.wantKind(store.KindMembership, mv)
		e.expect(store.Applied, e.g.OrgDeleted(o))
		e.wantKind(store.KindMembership)
		e.wantKind(store.KindOrganization)
		e.wantRows(v)
	})
}
