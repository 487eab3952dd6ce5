package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/check"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// clerk-sync itself passes every case on both stores, the organization
// cases included, and the cases' users, organizations and memberships are
// gone afterwards (marked deleted, with soft deletes).
func TestCheckPassesClerkSync(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres", "postgres-soft-delete"} {
		t.Run(name, func(t *testing.T) {
			dir := setup(t)
			dsn := filepath.Join(dir, "users.db")
			if name != "sqlite" {
				dsn = pgtest.URL(t)
			}
			m := mapping.Default()
			if name == "postgres-soft-delete" {
				// Rows stay, marked deleted: the mapping file says so.
				m = m.WithDelete(store.SoftDelete)
				os.WriteFile(filepath.Join(dir, mapping.FileName), []byte(softDelete), 0o600)
			}
			ctx := context.Background()
			st, _, err := server.OpenStore(ctx, dsn, m)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			url := receiver(t, st)
			junit := filepath.Join(dir, "check.xml")
			t.Setenv("DATABASE_URL", dsn) // as an app's .env has it
			code, out, errOut := mockclerk(ctx, "check", "--to", url, "--junit", junit)
			if code != 0 || strings.Contains(out, "\nfail ") || strings.Contains(out, "\nretries ") {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if n := strings.Count(out, "\npass "); n != len(check.Cases()) || !strings.Contains(out, "21 cases: 21 pass, 0 pass only through retries, 0 fail") ||
				!strings.Contains(out, `tables "User", "Organization", "OrganizationMembership" in `) || strings.Contains(out, "skipped") {
				t.Fatalf("%d passes\n%s", n, out)
			}
			for _, kind := range store.Kinds {
				rows, err := st.Rows(ctx, kind)
				for _, r := range rows {
					if !r.Deleted {
						err = fmt.Errorf("%s is not deleted", r.ClerkID)
					}
				}
				if err != nil || (len(rows) != 0) != (name == "postgres-soft-delete") {
					t.Fatalf("after cleanup the %s table holds %d rows (%v)", kind, len(rows), err)
				}
			}
			b, _ := os.ReadFile(junit)
			var suites struct {
				Suite struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(b, &suites); err != nil || suites.Suite.Tests != 21 || suites.Suite.Failures != 0 {
				t.Fatalf("junit %+v (%v)\n%s", suites, err, b)
			}
		})
	}
}

// softDelete is the default tables with on_delete soft.
const softDelete = `table: User
key: clerkId
primary_key: {column: id, fill: clerk}
columns:
  email: email
  firstName: first_name
  lastName: last_name
  username: username
  imageUrl: image_url
  createdAt: created_at
  updatedAt: updated_at
on_delete: {mode: soft, column: deletedAt}
organizations:
  table: Organization
  key: clerkId
  primary_key: {column: id, fill: clerk}
  columns: {name: name, slug: slug, imageUrl: image_url, createdBy: created_by, publicMetadata: public_metadata, createdAt: created_at, updatedAt: updated_at}
  on_delete: {mode: soft, column: deletedAt}
memberships:
  table: OrganizationMembership
  key: clerkId
  primary_key: {column: id, fill: clerk}
  columns: {organizationId: organization_id, userId: user_id, role: role, createdAt: created_at, updatedAt: updated_at}
  on_delete: {mode: soft, column: deletedAt}
`

// A handler that answers 200 to everything and writes nothing fails the
// cases that need rows, with the rows named, exits 1, and says so in JSON
// and JUnit alike; --keep leaves the table alone.
func TestCheckReportsAWrongHandler(t *testing.T) {
	dir := setup(t)
	ctx := context.Background()
	dsn := filepath.Join(dir, "app.db")
	st, _, err := server.OpenStore(ctx, dsn, mapping.Default()) // only to create the table
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	lazy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer lazy.Close()
	junit := filepath.Join(dir, "check.xml")
	code, out, errOut := mockclerk(ctx, "check", "--to", lazy.URL, "--db", dsn, "--case", "lifecycle", "--case", "unsigned", "--output", "json", "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rep check.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Cases) != 2 || rep.Summary.Fail != 2 {
		t.Fatalf("%+v", rep.Summary)
	}
	life := rep.Cases[0]
	if life.Case != "lifecycle" || len(life.Diffs) != 1 || !strings.Contains(life.Diffs[0].Problem, "no row; expected email=") {
		t.Errorf("lifecycle: %+v", life)
	}
	if u := rep.Cases[1]; !strings.Contains(u.Reason, "an unsigned user.deleted was answered 200: it must be refused with a 4xx") {
		t.Errorf("unsigned: %s", u.Reason)
	}
	if b, _ := os.ReadFile(junit); !strings.Contains(string(b), `failures="2"`) || !strings.Contains(string(b), `type="fail"`) {
		t.Errorf("junit:\n%s", b)
	}
}

// A users-only app is not failed by the organization cases: without a
// mapping file, when the default organizations and memberships tables are
// not there, they are skipped, saying why, in text and JSON; a case named
// with --case that cannot run is a usage mistake; a table that the mapping
// file maps must be readable.
func TestCheckSkipsOrganizationCases(t *testing.T) {
	dir := setup(t)
	ctx := context.Background()
	dsn := filepath.Join(dir, "app.db")
	st, _, err := server.OpenStore(ctx, dsn, mapping.DefaultUsers()) // a User table, no Organization
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	url := receiver(t, st)
	code, out, errOut := mockclerk(ctx, "check", "--to", url, "--db", dsn)
	if code != 0 || !strings.Contains(out, "17 cases: 17 pass, 0 pass only through retries, 0 fail") ||
		!strings.Contains(out, "skipped  org-lifecycle, membership-before-org, org-delete-cascade: no organizations table to read: ") ||
		!strings.Contains(out, `table "Organization" does not exist: name your organizations table in clerk-sync.yaml`) ||
		!strings.Contains(out, "skipped  role-out-of-order: no memberships table to read: ") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = mockclerk(ctx, "check", "--to", url, "--db", dsn, "--output", "json")
	var rep check.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if len(rep.Cases) != 17 || len(rep.Skipped) != 4 || rep.Skipped[0].Case != "org-lifecycle" || !strings.Contains(rep.Skipped[0].Reason, "no organizations table to read") {
		t.Fatalf("%d cases, skipped %+v", len(rep.Cases), rep.Skipped)
	}
	code, out, errOut = mockclerk(ctx, "check", "--to", url, "--db", dsn, "--case", "lifecycle", "--case", "role-out-of-order")
	if code != 2 || !strings.Contains(errOut, "--case role-out-of-order: no memberships table to read: ") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, mapping.FileName), []byte("table: User\nkey: clerkId\ncolumns: {email: email}\n"), 0o600)
	code, out, errOut = mockclerk(ctx, "check", "--to", url, "--db", dsn, "--case", "lifecycle", "--case", "org-lifecycle")
	if code != 2 || !strings.Contains(errOut, "--case org-lifecycle: clerk-sync.yaml maps no organizations: add `organizations: default` (or your own table) to it to judge them") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, mapping.FileName), []byte("table: User\nkey: clerkId\ncolumns: {email: email}\norganizations: default\n"), 0o600)
	code, out, errOut = mockclerk(ctx, "check", "--to", url, "--db", dsn)
	if code != 1 || !strings.Contains(errOut, `cannot read the handler's organization table: `) || !strings.Contains(errOut, `table "Organization" does not exist`) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheckMistakes(t *testing.T) {
	dir := setup(t)
	ctx := context.Background()
	db := filepath.Join(dir, "none.db")
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"check", "--case", "nope"}, 2, "unknown case nope; known: lifecycle, update-before-create"},
		{[]string{"check", "--retry", "fast"}, 2, "want svix-fast, svix or none"},
		{[]string{"check", "--output", "xml", "--db", db}, 2, "want text or json"},
		{[]string{"check", "--to", srv.URL}, 2, "give --db (or set DATABASE_URL)"},
		{[]string{"check", "--to", "localhost:3000", "--db", db}, 2, "want an http:// or https:// URL"},
		{[]string{"check", "--to", "http://127.0.0.1:1/hook", "--db", db}, 1, "nothing answers at http://127.0.0.1:1/hook"},
		{[]string{"check", "--to", srv.URL, "--db", db, "--config", "missing.yaml"}, 2, "missing.yaml"},
		{[]string{"check", "--to", srv.URL, "--db", db}, 1, "cannot read the handler's table"},
		{[]string{"check", "extra"}, 2, "unknown command"},
		{[]string{"check", "--case", "no-email", "--profile", "email-required", "--db", db}, 2, "never sends a user without one"},
	} {
		code, out, errOut := mockclerk(ctx, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d, out %q err %q; want %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
	code, out, _ := mockclerk(ctx, "check", "--list")
	if code != 0 || strings.Count(out, "\n") != len(check.Cases()) || !strings.Contains(out, "delete-then-create    a user.created delivered after") {
		t.Errorf("--list: exit %d\n%s", code, out)
	}
}

// Through a mapping onto tables as Prisma made them, check judges what
// clerk-sync writes there: the snake_case model (uuid key, jsonb metadata,
// a boolean, soft deletes) passes every case; the seed plan's model, whose
// email is required and @unique, needs an instance that requires an email
// and even then passes swap-emails only through retries.
func TestCheckJudgesPrismaTables(t *testing.T) {
	for _, tc := range []struct {
		table, driver string
		args          []string
		code          int
		want          string
	}{
		{"snake", mapping.SQLite, nil, 0, "21 cases: 21 pass, 0 pass only through retries, 0 fail"},
		{"seed-plan", mapping.Postgres, []string{"--profile", "email-required"}, 1, "20 cases: 19 pass, 1 pass only through retries, 0 fail"},
	} {
		t.Run(tc.table, func(t *testing.T) {
			dir := setup(t)
			p, err := storetest.PrismaTableNamed(tc.table, tc.driver)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, mapping.FileName), p.YAML, 0o600)
			dsn := filepath.Join(dir, "app.db")
			var st store.Store
			if tc.driver == mapping.Postgres {
				dsn = pgtest.URL(t)
				st, _ = storetest.PostgresWith(t, dsn, p.Mapping, p.DDL)
			} else {
				db, err := sql.Open("sqlite", dsn)
				if err == nil {
					_, err = db.Exec(p.DDL)
					db.Close()
				}
				if err != nil {
					t.Fatal(err)
				}
				if st, _, err = server.OpenStore(context.Background(), dsn, p.Mapping); err != nil {
					t.Fatal(err)
				}
				defer st.Close()
			}
			code, out, errOut := mockclerk(context.Background(), append([]string{"check", "--to", receiver(t, st), "--db", dsn}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %q\n%s%s", code, tc.want, out, errOut)
			}
			if tc.table == "seed-plan" && (!strings.Contains(out, "retries  swap-emails") || !strings.Contains(out, "address (500 failed: database-error: ")) {
				t.Fatalf("swap-emails should need retries with email @unique:\n%s", out)
			}
		})
	}
}
