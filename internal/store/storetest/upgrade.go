package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Before is what a database made by an earlier release held, read with
// plain SQL before the current release opened it.
type Before struct {
	States []store.State // the users' bookkeeping
	Users  []string      // the ids in the users table
	SvixID string        // a delivery in the ledger
}

// CheckUpgrade checks that st, the current release's store on the
// database of before, kept every user's version and tombstone, the users
// table and the ledger, and keeps the rules: a tombstoned user stays
// gone, a done svix-id stays done; and that it syncs organizations now.
func CheckUpgrade(t *testing.T, st store.Store, before Before) {
	t.Helper()
	ctx := context.Background()
	deleted := func(s store.State) bool { return s.Deleted }
	if !slices.ContainsFunc(before.States, deleted) || len(before.Users) == 0 || before.SvixID == "" {
		t.Fatalf("the old database holds too little to check (it needs users, a tombstoned one among them, and a ledger row): %+v", before)
	}
	states, err := st.States(ctx, store.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(states, before.States) {
		t.Fatalf("user states after the upgrade:\n%+v\nwant\n%+v", states, before.States)
	}
	var ids []string
	for _, u := range MustUsers(t, st) {
		ids = append(ids, u.ClerkID)
	}
	if !slices.Equal(ids, before.Users) {
		t.Fatalf("users table after the upgrade: %v, want %v", ids, before.Users)
	}
	if r, err := st.Delivery(ctx, before.SvixID); err != nil || r.Outcome == "" {
		t.Fatalf("ledger row %s after the upgrade: %+v, %v", before.SvixID, r, err)
	}
	g := fake.New(3, time.Now().Add(-time.Hour))
	for _, s := range before.States {
		if s.Deleted {
			if o, err := Apply(t, st, "msg_upgrade_late_"+s.ID, g.Created(g.UserWithID(s.ID))); o != store.Stale || err != nil {
				t.Fatalf("a late user.created of tombstoned %s: %s %v, want stale", s.ID, o, err)
			}
		}
	}
	o, u := g.NewOrg(nil), g.NewUser()
	MustApply(t, st, "msg_upgrade_org", g.OrgCreated(o))
	MustApply(t, st, "msg_upgrade_member", g.MemberCreated(g.NewMember(o, u)))
	for _, kind := range []store.Kind{store.KindOrganization, store.KindMembership} {
		if rows, err := st.Rows(ctx, kind); err != nil || len(rows) != 1 {
			t.Fatalf("%ss after the upgrade: %+v, %v", kind, rows, err)
		}
	}
}

// CheckLinksUpgrade checks that the links an earlier release kept for
// deleted entities go when the database upgrades (migration 9), and only
// those. open opens the current release's store on one database, the same
// each call, with a function that runs SQL there.
func CheckLinksUpgrade(t *testing.T, open func(t *testing.T) (store.Store, func(string) error)) {
	t.Helper()
	st, exec := open(t)
	e := &env{t: t, st: st, exec: exec, m: mapping.Default(), g: fake.New(1, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))}
	o := e.g.NewOrg(nil)
	u, v := e.g.NewUser(), e.g.NewUser()
	live, gone := e.g.NewMember(o, u), e.g.NewMember(o, v)
	e.expect(store.Applied, e.g.OrgCreated(o))
	e.expect(store.Applied, e.g.MemberCreated(live))
	e.expect(store.Applied, e.g.MemberCreated(gone))
	e.expect(store.Applied, e.g.Deleted(v))
	e.wantLinks(2, "before the old release's state is made")
	// The database as the release before migration 9 left it: the links
	// of the deleted membership kept, no index on the child.
	old := fmt.Sprintf(`INSERT INTO clerk_sync_links (parent_kind, parent_id, kind, id)
		VALUES ('organization', '%[1]s', 'membership', '%[3]s'), ('user', '%[2]s', 'membership', '%[3]s');
		DROP INDEX clerk_sync_links_child;
		DELETE FROM clerk_sync_migrations WHERE version = 9`, o.ID, v.ID, gone.ID)
	if err := exec(old); err != nil {
		t.Fatal(err)
	}
	e.wantLinks(4, "with the old release's links")
	e.st, _ = open(t)
	e.wantLinks(2, "after the upgrade")
	e.expect(store.Applied, e.g.OrgDeleted(o))
	e.wantLinks(0, "after organization.deleted on the upgraded database")
}
