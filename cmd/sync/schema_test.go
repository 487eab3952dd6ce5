package main

import (
	"bytes"
	"context"
	"database/sql"
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
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('User', 'clerk_sync_deliveries', 'clerk_sync_users')`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d tables, %v", n, err)
	}
}
