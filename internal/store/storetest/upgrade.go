package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
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
