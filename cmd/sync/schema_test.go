package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchema(t *testing.T) {
	inTempDir(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"schema"}, []string{"model User {", "clerkId   String    @unique", "deletedAt DateTime?"}},
		{[]string{"schema", "--example"}, []string{"table: app_users", "on_delete:"}},
		{[]string{"schema", "--prisma"}, []string{"model User {"}},
		{[]string{"schema", "--sql", "postgres"}, []string{`CREATE TABLE "User"`, `TIMESTAMP(3)`, `"User_clerkId_key"`}},
		{[]string{"schema", "--sql", "sqlite"}, []string{`CREATE TABLE "User"`, `DATETIME`, `"User_clerkId_key"`}},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d %s", tc.args, code, stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%v: no %q in\n%s", tc.args, w, stdout.String())
			}
		}
		if strings.Contains(stdout.String(), "clerk_sync_") {
			t.Errorf("%v prints our bookkeeping tables too", tc.args)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"schema", "--sql", "mysql"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "want postgres or sqlite") {
		t.Fatalf("mysql: exit %d %s", code, stderr.String())
	}
}

func TestMigrate(t *testing.T) {
	dir := inTempDir(t)
	path := filepath.Join(dir, "app.db")
	t.Setenv("DATABASE_URL", path)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "is migrated") {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('User', 'Organization', 'OrganizationMembership', 'clerk_sync_deliveries', 'clerk_sync_entities')`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d tables, %v", n, err)
	}
}

// schema --prisma prints a model Prisma takes whatever the names, and a
// name that would put terminal escapes on the screen is refused.
func TestSchemaOddNames(t *testing.T) {
	dir := inTempDir(t)
	for _, tc := range []struct {
		name, yaml string
		code       int
		want       string
	}{
		{"names Prisma cannot take", "table: user accounts\nkey: clerk-id\ncolumns:\n  e-mail: email\n", 0,
			"model UserAccounts {\n  clerkId String  @id @map(\"clerk-id\") // the Clerk user id\n  eMail   String? @map(\"e-mail\")"},
		{"a terminal escape", "table: \"users\\e]0;owned\\a\"\nkey: clerkId\n", 1, `clerk-sync.yaml:1: name "users\x1b]0;owned\a" has a control`},
		{"a second document", "table: User\nkey: clerkId\n---\ntable: Other\n", 1, "clerk-sync.yaml:3: a second YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "clerk-sync.yaml"), []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"schema", "--prisma"}, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output\n%s\nwant %d and %q", code, out, tc.code, tc.want)
			}
			if strings.ContainsFunc(out, func(r rune) bool { return r < ' ' && r != '\n' }) {
				t.Fatalf("control characters in the output %q", out)
			}
		})
	}
}
