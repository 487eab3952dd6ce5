package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// seedPlanApp is a working directory holding the app's SQLite database
// with the seed plan's table exactly as Prisma creates it, and a mapping
// file; it returns the database's path.
func seedPlanApp(t *testing.T, yaml string) string {
	dir := inTempDir(t)
	path := filepath.Join(dir, "app.db")
	openSQLite(t, path, storetest.PrismaTables(mapping.SQLite)[0].DDL)
	if err := os.WriteFile(filepath.Join(dir, mapping.FileName), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", path)
	return path
}

// openSQLite opens the SQLite file at path, closed when the test ends,
// after running ddl on it.
func openSQLite(t *testing.T, path, ddl string) *sql.DB {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	return db
}

const seedPlanYAML = `table: User
key: clerkId
primary_key: {column: id, fill: cuid}
columns:
  email: email
  firstName: first_name
  lastName: last_name
  imageUrl: image_url
  createdAt: created_at
  updatedAt: updated_at
`

func TestDoctor(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		code     int
		want     []string
		warnings int
	}{
		{"seed plan fits, with warnings", seedPlanYAML, 0,
			[]string{`column "email": NOT NULL, but Clerk may send no email`, `column "email": a unique index covers the email`, "ok: deliveries will work; 2 warning(s)"}, 2},
		{"a column that is not there", seedPlanYAML + "  phone: phone\n", 1,
			[]string{`error: column "phone": missing`, "1 finding(s) would make deliveries fail"}, 2},
		{"a NOT NULL column left unfilled", strings.Replace(seedPlanYAML, "  updatedAt: updated_at\n", "", 1), 1,
			[]string{`error: column "updatedAt": NOT NULL without a default, and the mapping never fills it`}, 2},
		{"no such table", strings.Replace(seedPlanYAML, "table: User", "table: Users", 1), 1,
			[]string{`error: table "Users" does not exist`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seedPlanApp(t, tt.yaml)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"doctor"}, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in\n%s", w, out)
				}
			}
			if n := strings.Count(out, "\nwarning: "); n != tt.warnings {
				t.Errorf("%d warnings, want %d:\n%s", n, tt.warnings, out)
			}
			if !strings.Contains(out, "fix: ") && tt.code != 0 {
				t.Errorf("no fix in\n%s", out)
			}
		})
	}
}

// clerk-sync refuses to start when deliveries would fail, and says why,
// before it listens.
func TestStartupRefusesAMismatchedTable(t *testing.T) {
	seedPlanApp(t, seedPlanYAML+"  phone: phone\n")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--secret", secret, "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `a table does not fit the mapping: table "User"`) ||
		!strings.Contains(stderr.String(), `column "phone": missing`) || !strings.Contains(stderr.String(), "clerk-sync doctor") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	if strings.Contains(stdout.String(), "POST http://") {
		t.Fatal("it listened before refusing")
	}
}

// migrate creates only clerk-sync's own tables next to the app's table,
// and leaves that table exactly as it was.
func TestMigrateLeavesTheAppTableAlone(t *testing.T) {
	path := seedPlanApp(t, seedPlanYAML)
	schema := func() string {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var all []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(s, "clerk_sync_") {
				all = append(all, s)
			}
		}
		return strings.Join(all, "\n")
	}
	before := schema()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `Clerk's changes go to table "User" (mapping clerk-sync.yaml)`) {
		t.Errorf("stdout %q", stdout.String())
	}
	if after := schema(); after != before {
		t.Fatalf("migrate changed the app's schema:\n%s\nwas\n%s", after, before)
	}
}

func TestMappingFileErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		yaml string
		want string
	}{
		{"YAML error names the line", nil, "table: User\nkey: clerkId\ncolumns:\n  email: [\n", "clerk-sync.yaml:4:"},
		{"unknown field names the line", nil, "table: User\nkey: clerkId\ncolumns:\n  email: e_mail\n", `clerk-sync.yaml:4: column "email": unknown Clerk field "e_mail"`},
		{"a named file must exist", []string{"--config", "other.yaml"}, "", "read mapping: open other.yaml"},
		{"soft delete needs a column", []string{"--on-delete", "soft"}, "table: User\nkey: clerkId\n", "--on-delete soft: on_delete soft needs a column"},
		{"a file named in the environment must exist", []string{"env:CLERK_SYNC_CONFIG=missing.yaml"}, "", "read mapping: open missing.yaml"},
		{"the environment's --on-delete counts as set", []string{"env:CLERK_SYNC_ON_DELETE=soft"}, "table: User\nkey: clerkId\n", "--on-delete soft: on_delete soft needs a column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := inTempDir(t)
			var args []string
			for _, a := range tt.args {
				if kv, ok := strings.CutPrefix(a, "env:"); ok {
					k, v, _ := strings.Cut(kv, "=")
					t.Setenv(k, v)
				} else {
					args = append(args, a)
				}
			}
			tt.args = args
			if tt.yaml != "" {
				if err := os.WriteFile(filepath.Join(dir, mapping.FileName), []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"--secret", secret}, tt.args...), &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

// Without a mapping file an existing "User" table is still the app's:
// migrate says what it lacks and adds nothing to it.
func TestMigrateDoesNotFixTheDefaultTable(t *testing.T) {
	dir := inTempDir(t)
	path := filepath.Join(dir, "app.db")
	db := openSQLite(t, path, `CREATE TABLE "User" ("id" TEXT NOT NULL PRIMARY KEY, "clerkId" TEXT NOT NULL, "email" TEXT,
		"firstName" TEXT, "lastName" TEXT, "username" TEXT, "imageUrl" TEXT, "createdAt" DATETIME NOT NULL, "updatedAt" DATETIME NOT NULL)`)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"migrate", "--db", path}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `column "clerkId": no unique index`) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'User' AND sql IS NOT NULL`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d indexes were added (%v)", n, err)
	}
}
