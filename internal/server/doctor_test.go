package server_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
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

// Doctor reads the Prisma-made tables right on both drivers: what it finds
// comes from the database's own catalogue, not from the DDL text.
func TestDoctorOnPrismaTables(t *testing.T) {
	for _, driver := range []string{mapping.SQLite, mapping.Postgres} {
		for _, p := range storetest.PrismaTables(driver) {
			t.Run(driver+"/"+p.Name, func(t *testing.T) {
				ctx := context.Background()
				url := appDatabase(t, driver, p.DDL)
				findings, _, err := server.Doctor(ctx, url, p.Mapping)
				if err != nil {
					t.Fatal(err)
				}
				want := ""
				if p.Name == "seed-plan" {
					// email String @unique: required and unique.
					want = `warning email NOT NULL|warning email a unique index covers the email`
				}
				if got := summary(findings); got != want {
					t.Fatalf("findings %q, want %q:\n%v", got, want, findings)
				}

				// The same table against mappings it does not fit.
				bad := p.Mapping
				bad.Columns = append(bad.Columns[:len(bad.Columns):len(bad.Columns)],
					mapping.Column{Name: "phone_number", Field: mapping.Phone, As: mapping.Text})
				bad.Columns[len(bad.Columns)-2].Field, bad.Columns[len(bad.Columns)-2].As = mapping.Banned, mapping.Bool // updatedAt holds a time
				findings, _, err = server.Doctor(ctx, url, bad)
				if err != nil {
					t.Fatal(err)
				}
				failing := summary(mapping.Failing(findings))
				for _, w := range []string{"error phone_number missing", "its type", "cannot hold banned"} {
					if !strings.Contains(failing, w) {
						t.Errorf("no %q in %q", w, failing)
					}
				}

				// Start-up refuses the same mismatch before any delivery.
				_, _, err = server.OpenStore(ctx, url, bad)
				if !errors.Is(err, mapping.ErrMismatch) || !strings.Contains(err.Error(), `"phone_number": missing`) {
					t.Fatalf("open with a mismatched mapping: %v", err)
				}
			})
		}
	}
}

// summary is "severity column problem-start" per finding, "|"-separated.
func summary(fs []mapping.Finding) string {
	var parts []string
	for _, f := range fs {
		problem := f.Problem
		if i := strings.Index(problem, ","); i > 0 {
			problem = problem[:i]
		}
		if i := strings.Index(problem, ":"); i > 0 {
			problem = problem[:i]
		}
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %s %s", f.Severity, f.Column, problem)))
	}
	return strings.Join(parts, "|")
}
