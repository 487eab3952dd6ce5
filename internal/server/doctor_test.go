package server_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// appDatabase returns the URL of a fresh database of driver holding ddl.
func appDatabase(t *testing.T, driver, ddl string) string {
	if driver == mapping.Postgres {
		url := pgtest.URL(t)
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), ddl); err != nil {
			t.Fatal(err)
		}
		return url
	}
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	return path
}

// Doctor reads the Prisma-made tables right on both drivers — users,
// organizations and memberships: what it finds comes from the database's
// own catalogue, not from the DDL text.
func TestDoctorOnPrismaTables(t *testing.T) {
	// The seed plan's email String @unique: required and unique.
	email := []string{
		`warning "User" email NOT NULL, but Clerk may send no email (e.g. phone-only users have no email)`,
		`warning "User" email a unique index covers the email`,
	}
	for _, driver := range []string{mapping.SQLite, mapping.Postgres} {
		// PostgreSQL names a referenced table as regclass prints it
		// (quoted), SQLite as declared.
		ref := func(table string) string { return table }
		if driver == mapping.Postgres {
			ref = mapping.Quote
		}
		want := map[string][]string{
			"seed-plan": email,
			"snake":     nil,
			// Prisma's default relationMode: a foreign key per relation, and
			// @@unique([organizationId, userId]).
			"foreign-keys": append(slices.Clone(email),
				`warning "OrganizationMembership" organizationId a foreign key to `+ref("Organization"),
				`warning "OrganizationMembership" userId a foreign key to `+ref("User"),
				`warning "OrganizationMembership" organizationId, userId a unique index covers (organization, user)`),
		}
		for _, p := range append(storetest.PrismaTables(driver), storetest.PrismaForeignKeys(driver)) {
			t.Run(driver+"/"+p.Name, func(t *testing.T) {
				ctx := context.Background()
				url := appDatabase(t, driver, p.DDL)
				if n := len(p.Mapping.Projections()); n != 3 {
					t.Fatalf("%s.yaml maps %d kinds, want users, organizations and memberships", p.Name, n)
				}
				findings, _, err := server.Doctor(ctx, url, p.Mapping)
				if err != nil {
					t.Fatal(err)
				}
				w := slices.Sorted(slices.Values(want[p.Name]))
				if got := summary(findings); got != strings.Join(w, "|") {
					t.Fatalf("findings\n%s\nwant\n%s\n\n%v", got, strings.Join(w, "|"), findings)
				}

				// The same tables against mappings they do not fit: a
				// column missing from each kind's table in turn, and a
				// user's column of the wrong type.
				for i, kind := range []store.Kind{store.KindUser, store.KindOrganization, store.KindMembership} {
					bad := misfit(p.Mapping, i)
					table := bad.Projections()[i].QualifiedName()
					findings, _, err = server.Doctor(ctx, url, bad)
					if err != nil {
						t.Fatal(err)
					}
					failing := summary(mapping.Failing(findings))
					wantFailing := []string{"error " + table + " not_there missing"}
					if kind == store.KindUser {
						wantFailing = append(wantFailing, "its type", "cannot hold banned")
					}
					for _, w := range wantFailing {
						if !strings.Contains(failing, w) {
							t.Errorf("%s: no %q in %q", kind, w, failing)
						}
					}

					// Start-up refuses the same mismatch before any delivery.
					_, _, err = server.OpenStore(ctx, url, bad)
					if !errors.Is(err, mapping.ErrMismatch) || !strings.Contains(err.Error(), "table "+table) ||
						!strings.Contains(err.Error(), `"not_there": missing`) {
						t.Fatalf("%s: open with a mismatched mapping: %v", kind, err)
					}
				}
			})
		}
	}
}

// misfit is m with a column the tables lack added to the mapping of the
// i-th of m's projections; for the users', another column is given a
// field its type cannot hold.
func misfit(m mapping.Mapping, i int) mapping.Mapping {
	missing := []mapping.Column{
		{Name: "not_there", Field: mapping.Phone, As: mapping.Text},
		{Name: "not_there", Field: mapping.AdminDeleteEnabled, As: mapping.Bool},
		{Name: "not_there", Field: mapping.Identifier, As: mapping.Text},
	}[i]
	ps := m.Projections()
	p := &ps[i]
	p.Columns = append(slices.Clone(p.Columns), missing)
	if i == 0 {
		last := len(p.Columns) - 2 // updatedAt or updated_at, which holds a time
		p.Columns[last].Field, p.Columns[last].As = mapping.Banned, mapping.Bool
	}
	users := ps[0]
	users.Others = slices.Clone(ps[1:])
	return users
}

// summary is "severity table column problem" per finding, the problem up
// to its first colon, sorted and "|"-separated.
func summary(fs []mapping.Finding) string {
	var parts []string
	for _, f := range fs {
		problem, _, _ := strings.Cut(f.Problem, ":")
		parts = append(parts, strings.Join(strings.Fields(fmt.Sprintf("%s %s %s %s", f.Severity, f.Table, f.Column, problem)), " "))
	}
	slices.Sort(parts) // the drivers list foreign keys in different orders
	return strings.Join(parts, "|")
}

// What doctor's foreign-key warning says, over HTTP: a membership that
// arrives before its organization is answered 500, and the same delivery
// retried once the organization exists is applied.
func TestForeignKeyWarningHoldsOverHTTP(t *testing.T) {
	for _, driver := range []string{mapping.SQLite, mapping.Postgres} {
		t.Run(driver, func(t *testing.T) {
			p := storetest.PrismaForeignKeys(driver)
			var (
				st   store.Store
				exec func(string) error
			)
			if driver == mapping.Postgres {
				st, exec = storetest.PostgresWith(t, pgtest.URL(t), p.Mapping, p.DDL)
			} else {
				st, exec = storetest.SQLiteWith(t, p.Mapping, p.DDL)
			}
			r := newRig(t, st, exec)
			r.g.EmailRequired = true // the seed plan's email String
			u, o := r.g.NewUser(), r.g.NewOrg(nil)
			r.expect(r.deliver(r.g.Created(u)), http.StatusOK, store.Applied)
			early := r.deliver(r.g.MemberCreated(r.g.NewMember(o, u)))
			r.expect(early, http.StatusInternalServerError, store.Failed)
			r.expect(r.deliver(r.g.OrgCreated(o)), http.StatusOK, store.Applied)
			r.expect(early, http.StatusOK, store.Applied) // Svix's retry: same svix-id and body
		})
	}
}
