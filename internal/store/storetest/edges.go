package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// RunAppTableEdges checks what the app's own table can do to deliveries:
// a column that refuses a value fails that delivery alone, visibly; odd
// but legal names work.
func RunAppTableEdges(t *testing.T, driver string, open func(t *testing.T, m mapping.Mapping, ddl string) (store.Store, func(string) error)) {
	g := fake.New(5, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	m := mapping.Mapping{
		Table: "people", Model: "People", Key: "clerk_id",
		Columns: []mapping.Column{
			{Name: "email", Field: mapping.Email, As: mapping.Text},
			{Name: "image", Field: mapping.ImageURL, As: mapping.Text},
		},
		OnDelete: store.HardDelete, DeleteAs: mapping.Time,
	}

	t.Run("a NOT NULL column without the field fails that delivery, recorded with the database's message", func(t *testing.T) {
		st, _ := open(t, m, `CREATE TABLE people ("clerk_id" TEXT PRIMARY KEY, "email" TEXT NOT NULL, "image" TEXT)`)
		phoneOnly := g.NewUser()
		for len(phoneOnly.Emails) > 0 {
			phoneOnly = g.NewUser()
		}
		o, err := Apply(t, st, "msg_notnull", g.Created(phoneOnly))
		if o != store.Failed || !errors.Is(err, store.ErrPermanent) {
			t.Fatalf("got %s, %v; want failed, ErrPermanent", o, err)
		}
		r, err := st.Delivery(ctx, "msg_notnull")
		if err != nil || r.Outcome != store.Failed || !strings.Contains(strings.ToLower(r.Error), "null") || !strings.Contains(r.Error, "email") {
			t.Fatalf("ledger row %+v, %v: want failed with the NOT NULL message", r, err)
		}
		states, _ := st.States(ctx, store.KindUser)
		if len(states) != 0 {
			t.Fatalf("the failed delivery advanced the user: %+v", states)
		}
		withEmail := g.NewUser()
		for len(withEmail.Emails) == 0 {
			withEmail = g.NewUser()
		}
		MustApply(t, st, "msg_fine", g.Created(withEmail))
	})

	if driver == mapping.Postgres {
		t.Run("a value too long for its column fails, never cut", func(t *testing.T) {
			st, _ := open(t, m, `CREATE TABLE people ("clerk_id" VARCHAR(40) PRIMARY KEY, "email" TEXT, "image" VARCHAR(20))`)
			u := g.NewUser()
			o, err := Apply(t, st, "msg_long", g.Created(u))
			if o != store.Failed || !errors.Is(err, store.ErrPermanent) || !strings.Contains(err.Error(), "too long") {
				t.Fatalf("got %s, %v; want failed: value too long", o, err)
			}
			if rows, _ := st.Users(ctx); len(rows) != 0 {
				t.Fatalf("rows %+v: a cut value was stored", rows)
			}
		})
	}

	t.Run("declared lengths and precisions that fit keep every value whole", func(t *testing.T) {
		// A char(n) key once went in cut to one character: users collapsed
		// into one row.
		typed := m
		typed.Columns = append(slices.Clone(m.Columns), mapping.Column{Name: "created", Field: mapping.CreatedAt, As: mapping.Time})
		st, _ := open(t, typed, `CREATE TABLE people ("clerk_id" CHAR(32) PRIMARY KEY, "email" CHAR(80), "image" VARCHAR(80), "created" TIMESTAMP(3))`)
		var users []*fake.User
		for i := range 3 {
			u := g.NewUser()
			users = append(users, u)
			MustApply(t, st, fmt.Sprintf("msg_typed_%d", i), g.Created(u))
		}
		if diff := DiffUsers(MustUsers(t, st), Rows(typed, users...)); diff != "" {
			t.Fatalf("rows:\n%s", diff)
		}
	})

	t.Run("names with quotes, dollars, spaces and capitals", func(t *testing.T) {
		odd := m
		odd.Table, odd.Key = `Odd "People"`, "Clerk Id"
		odd.Columns = []mapping.Column{
			{Name: "e$clerk_sync$mail", Field: mapping.Email, As: mapping.Text},
			{Name: `image "url"`, Field: mapping.ImageURL, As: mapping.Text},
		}
		ddl := fmt.Sprintf(`CREATE TABLE %s (%s TEXT PRIMARY KEY, %s TEXT, %s TEXT)`, odd.QualifiedName(),
			mapping.Quote(odd.Key), mapping.Quote(odd.Columns[0].Name), mapping.Quote(odd.Columns[1].Name))
		st, _ := open(t, odd, ddl)
		u := g.NewUser()
		MustApply(t, st, "msg_odd", g.Created(u))
		if diff := DiffUsers(MustUsers(t, st), Rows(odd, u)); diff != "" {
			t.Fatalf("rows:\n%s", diff)
		}
	})

	t.Run("columns named like the generated code's own names", func(t *testing.T) {
		// The PostgreSQL store's apply function has parameters and a
		// variable of these names; the app's columns may be called anything.
		clash := mapping.Mapping{
			Table: "clash", Model: "Clash", Key: "p_user_id", ID: "p_id", IDFill: mapping.FillClerkID,
			Columns: []mapping.Column{
				{Name: "p_svix_id", Field: mapping.Email, As: mapping.Text},
				{Name: "p_type", Field: mapping.FirstName, As: mapping.Text},
				{Name: "p_version", Field: mapping.LastName, As: mapping.Text},
				{Name: "p_digest", Field: mapping.Username, As: mapping.Text},
				{Name: "p_received_at", Field: mapping.ImageURL, As: mapping.Text},
				{Name: "p_payload", Field: mapping.Phone, As: mapping.Text},
				{Name: "p_v", Field: mapping.ExternalID, As: mapping.Text},
				{Name: "v_outcome", Field: mapping.FullName, As: mapping.Text},
			},
			DeleteColumn: "p_deleted", DeleteAs: mapping.Time,
		}
		ddl := `CREATE TABLE clash ("p_id" TEXT PRIMARY KEY, "p_user_id" TEXT NOT NULL UNIQUE, "p_svix_id" TEXT, "p_type" TEXT,
			"p_version" TEXT, "p_digest" TEXT, "p_received_at" TEXT, "p_payload" TEXT, "p_v" TEXT, "v_outcome" TEXT, "p_deleted" TIMESTAMP(3))`
		for _, mode := range []store.DeleteMode{store.HardDelete, store.SoftDelete} {
			t.Run(string(mode), func(t *testing.T) {
				st, _ := open(t, clash.WithDelete(mode), ddl)
				kept, gone := g.NewUser(), g.NewUser()
				MustApply(t, st, "msg_clash_a", g.Created(kept))
				MustApply(t, st, "msg_clash_b", g.Updated(kept))
				MustApply(t, st, "msg_clash_c", g.Created(gone))
				MustApply(t, st, "msg_clash_d", g.Deleted(gone))
				rows := MustUsers(t, st)
				want := Rows(clash, kept)
				if mode == store.SoftDelete {
					gone.Deleted = false
					want = Rows(clash, kept, gone)
					for i := range rows {
						if rows[i].ClerkID == gone.ID {
							if !rows[i].Deleted {
								t.Fatalf("%s was not marked deleted", gone.ID)
							}
							rows[i].Deleted, rows[i].DeletedAt = false, nil
						}
					}
				}
				if diff := DiffUsers(rows, want); diff != "" {
					t.Fatalf("rows:\n%s", diff)
				}
			})
		}
	})

	t.Run("membership columns named like the generated code's own names", func(t *testing.T) {
		// A membership's change and its removal by its user's deletion run
		// through code with these parameter and variable names too.
		members := mapping.Mapping{
			Kind: store.KindMembership, Table: "clash_members", Model: "ClashMembers", Key: "v_child",
			Columns: []mapping.Column{
				{Name: "v_gone", Field: mapping.OrganizationID, As: mapping.Text},
				{Name: "p_parent_ids", Field: mapping.UserID, As: mapping.Text},
				{Name: "p_parent_kinds", Field: mapping.Role, As: mapping.Text},
				{Name: "p_pk", Field: mapping.RoleName, As: mapping.Text},
			},
			DeleteColumn: "p_user_id", DeleteAs: mapping.Time,
		}
		users := mapping.DefaultUsers()
		users.Others = []mapping.Mapping{mapping.DefaultOrganizations(), members}
		ddl := `CREATE TABLE clash_members ("v_child" TEXT PRIMARY KEY, "v_gone" TEXT, "p_parent_ids" TEXT,
			"p_parent_kinds" TEXT, "p_pk" TEXT, "p_user_id" TIMESTAMP(3))`
		for _, mode := range []store.DeleteMode{store.HardDelete, store.SoftDelete} {
			t.Run(string(mode), func(t *testing.T) {
				st, _ := open(t, users.WithDelete(mode), ddl)
				u, o := g.NewUser(), g.NewOrg(nil)
				m := g.NewMember(o, u)
				MustApply(t, st, "msg_clash_m1", g.MemberCreated(m))
				MustApply(t, st, "msg_clash_m2", g.MemberUpdated(m))
				rows, err := st.Rows(context.Background(), store.KindMembership)
				if err != nil || len(rows) != 1 || rows[0].Other["role"] != m.Role || rows[0].Other["user_id"] != u.ID {
					t.Fatalf("memberships %+v, %v", rows, err)
				}
				MustApply(t, st, "msg_clash_u", g.Deleted(u))
				rows, err = st.Rows(context.Background(), store.KindMembership)
				gone := len(rows) == 0
				if mode == store.SoftDelete {
					gone = len(rows) == 1 && rows[0].Deleted
				}
				if err != nil || !gone {
					t.Fatalf("after the member's deletion (%s): %+v, %v", mode, rows, err)
				}
			})
		}
	})

	t.Run("rows without a Clerk id are the app's own and not listed", func(t *testing.T) {
		serial := `"id" INTEGER PRIMARY KEY`
		if driver == mapping.Postgres {
			serial = `"id" SERIAL PRIMARY KEY`
		}
		st, exec := open(t, m, `CREATE TABLE people (`+serial+`, "clerk_id" TEXT UNIQUE, "email" TEXT, "image" TEXT)`)
		if err := exec(`INSERT INTO people ("email") VALUES ('before-clerk@example.com')`); err != nil {
			t.Fatal(err)
		}
		u := g.NewUser()
		MustApply(t, st, "msg_mixed", g.Created(u))
		if rows := MustUsers(t, st); len(rows) != 1 || rows[0].ClerkID != u.ID {
			t.Fatalf("rows %+v, want only %s", rows, u.ID)
		}
	})
}

// Apply delivers ev to st under svix-id id, as the syncer would.
func Apply(t *testing.T, st store.Store, id string, ev fake.Event) (store.Outcome, error) {
	t.Helper()
	d, c, err := Delivery(id, ev)
	if err != nil {
		t.Fatal(err)
	}
	return st.Apply(context.Background(), d, c)
}

// MustApply is Apply that fails the test unless ev is applied.
func MustApply(t *testing.T, st store.Store, id string, ev fake.Event) {
	t.Helper()
	if o, err := Apply(t, st, id, ev); o != store.Applied || err != nil {
		t.Fatalf("%s %s: %s %v, want applied", ev.Type, id, o, err)
	}
}

// MustUsers lists the users table of st, failing the test on an error.
func MustUsers(t *testing.T, st store.Store) []store.User {
	t.Helper()
	rows, err := st.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
