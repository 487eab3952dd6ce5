package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
)

// A column name longer than PostgreSQL keeps is reported as such by the
// doctor on a real server, where PostgreSQL cut the name the table has.
func TestDoctorLongColumnName(t *testing.T) {
	long := "the_date_on_which_this_user_last_changed_anything_in_their_profile" // 66 bytes
	url := appDatabase(t, mapping.Postgres, `CREATE TABLE "User" ("id" TEXT PRIMARY KEY, "clerkId" TEXT NOT NULL UNIQUE, "`+long+`" TIMESTAMP(3))`)
	m, err := mapping.Parse([]byte("table: User\nkey: clerkId\nprimary_key: {column: id, fill: clerk}\ncolumns:\n  " + long + ": updated_at\n"))
	if err != nil {
		t.Fatal(err)
	}
	findings, _, err := server.Doctor(context.Background(), url, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || !strings.Contains(findings[0].Problem, "66 bytes, longer than PostgreSQL's 63-byte limit") {
		t.Fatalf("findings: %v", findings)
	}
}
