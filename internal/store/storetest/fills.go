package storetest

import (
	"regexp"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// RunPrimaryKeyFills checks each way of filling a primary key that is
// not the key column, on tables that driver's open creates from ddl: the
// Clerk id, a cuid, a UUID, and the database's own default.
func RunPrimaryKeyFills(t *testing.T, driver string, open func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error)) {
	serial := `"id" INTEGER PRIMARY KEY AUTOINCREMENT`
	if driver == mapping.Postgres {
		serial = `"id" SERIAL PRIMARY KEY`
	}
	tests := []struct {
		fill mapping.Fill
		id   string
		want *regexp.Regexp
	}{
		{mapping.FillClerkID, `"id" TEXT PRIMARY KEY`, regexp.MustCompile(`^user_`)},
		{mapping.FillCUID, `"id" TEXT PRIMARY KEY`, regexp.MustCompile(`^c[0-9a-z]{24}$`)},
		{mapping.FillUUID, `"id" TEXT PRIMARY KEY`, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
		{mapping.FillDefault, serial, regexp.MustCompile(`^[12]$`)},
	}
	for _, tt := range tests {
		t.Run(string(tt.fill), func(t *testing.T) {
			m := mapping.Mapping{
				Table: "accounts", Model: "Account", Key: "clerk_id", ID: "id", IDFill: tt.fill,
				Columns:  []mapping.Column{{Name: "email", Field: mapping.Email, As: mapping.Text}},
				OnDelete: store.HardDelete, DeleteAs: mapping.Time,
			}
			st, _ := open(t, m, `CREATE TABLE accounts (`+tt.id+`, "clerk_id" TEXT NOT NULL UNIQUE, "email" TEXT)`)
			g := fake.New(3, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
			var users []*fake.User
			for i := range 2 {
				u := g.NewUser()
				users = append(users, u)
				MustApply(t, st, "msg_fill_"+string(rune('a'+i)), g.Created(u))
			}
			// An update keeps the primary key the insert gave the row.
			got := MustUsers(t, st)
			MustApply(t, st, "msg_fill_update", g.Updated(users[0]))
			again := MustUsers(t, st)
			if len(got) != 2 || len(again) != 2 {
				t.Fatalf("rows %v then %v", got, again)
			}
			for i := range got {
				if !tt.want.MatchString(got[i].ID) || got[i].ID != again[i].ID {
					t.Errorf("primary key %q then %q, want %v, unchanged", got[i].ID, again[i].ID, tt.want)
				}
				if tt.fill == mapping.FillClerkID && got[i].ID != got[i].ClerkID {
					t.Errorf("primary key %q, want the Clerk id %q", got[i].ID, got[i].ClerkID)
				}
			}
			if got[0].ID == got[1].ID {
				t.Errorf("two rows share primary key %q", got[0].ID)
			}
			if diff := DiffUsers(again, Rows(m, users...)); diff != "" {
				t.Errorf("rows:\n%s", diff)
			}
		})
	}
}

// RunSoftDeleteColumns checks each kind of soft-delete column: a
// boolean set true, and a timestamp (with time zone on PostgreSQL) set to
// the deletion time.
func RunSoftDeleteColumns(t *testing.T, driver string, open func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error)) {
	tests := []struct {
		name, column string
		as           mapping.Kind
	}{
		{"boolean", `"deleted" BOOLEAN NOT NULL DEFAULT false`, mapping.Bool},
		{"timestamp", `"deleted" TIMESTAMP(3)`, mapping.Time},
	}
	// On PostgreSQL the database's time zone is not UTC, so that a time
	// stored in the wrong zone shows.
	setup := ""
	if driver == mapping.Postgres {
		tests = append(tests, struct {
			name, column string
			as           mapping.Kind
		}{"timestamptz", `"deleted" TIMESTAMPTZ(3)`, mapping.Time})
		setup = `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(), 'America/New_York'); END $$; `
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mapping.Mapping{
				Table: "members", Model: "Member", Key: "clerk_id",
				Columns:  []mapping.Column{{Name: "name", Field: mapping.FullName, As: mapping.Text}},
				OnDelete: store.SoftDelete, DeleteColumn: "deleted", DeleteAs: tt.as,
			}
			st, _ := open(t, m, setup+`CREATE TABLE members ("clerk_id" TEXT PRIMARY KEY, "name" TEXT, `+tt.column+`)`)
			g := fake.New(4, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
			u := g.NewUser()
			for i, ev := range []fake.Event{g.Created(u), g.Deleted(u)} {
				MustApply(t, st, "msg_soft_"+string(rune('a'+i)), ev)
			}
			rows := MustUsers(t, st)
			if len(rows) != 1 || !rows[0].Deleted {
				t.Fatalf("rows %+v, want one soft-deleted", rows)
			}
			if at := rows[0].DeletedAt; (tt.as == mapping.Time) != (at != nil) || (at != nil && !at.Equal(time.UnixMilli(u.DeletedAt))) {
				t.Fatalf("deleted at %v, want %v", at, time.UnixMilli(u.DeletedAt).UTC())
			}
		})
	}
}
