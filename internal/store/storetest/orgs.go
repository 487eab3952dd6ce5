package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Entity is what the generator knows of one user, organization or
// membership: the row its events should leave.
type Entity interface{ Row() *store.User }

// RowsOf are the rows of the table of kind that es should leave under
// mapping m (the deleted have none).
func RowsOf[E Entity](m mapping.Mapping, kind store.Kind, es []E) []store.User {
	km, _ := m.For(kind)
	var rows []store.User
	for _, e := range es {
		if r := e.Row(); r != nil {
			rows = append(rows, Project(km, *r))
		}
	}
	return rows
}

// wantKind fails unless the table of kind holds exactly the rows of want.
func (e *env) wantKind(kind store.Kind, want ...Entity) {
	e.t.Helper()
	if diff := diffKind(e.t, e.st, e.m, kind, want...); diff != "" {
		e.t.Fatalf("%ss table:\n%s", kind, diff)
	}
}

// diffKind compares the table of kind in st with the rows of want.
func diffKind(t *testing.T, st store.Store, m mapping.Mapping, kind store.Kind, want ...Entity) string {
	t.Helper()
	if _, ok := m.For(kind); !ok {
		t.Fatalf("the mapping keeps no %ss", kind)
	}
	got, err := st.Rows(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	return DiffUsers(got, RowsOf(m, kind, want))
}

// tombstoned fails unless the entity has a tombstone.
func (e *env) tombstoned(kind store.Kind, id string) {
	e.t.Helper()
	if s, ok := e.stateOf(store.Ref{Kind: kind, ID: id}); !ok || !s.Deleted {
		e.t.Fatalf("%s %s: state %+v (found %v), want a tombstone", kind, id, s, ok)
	}
}

// wantLinks fails unless the bookkeeping links n children to parents. It
// works through the harness's raw SQL, which returns no rows: a CHECK
// constraint, named for the count wanted, refuses any other count.
func (e *env) wantLinks(n int, when string) {
	e.t.Helper()
	q := fmt.Sprintf(`DROP TABLE IF EXISTS clerk_sync_test_links;
		CREATE TABLE clerk_sync_test_links (n INTEGER CONSTRAINT want_%[1]d_links CHECK (n = %[1]d));
		INSERT INTO clerk_sync_test_links SELECT count(*) FROM clerk_sync_links`, n)
	if err := e.exec(q); err != nil {
		e.t.Fatalf("%s: want %d rows in clerk_sync_links: %v", when, n, err)
	}
}

// runOrganizations checks the rules for organizations and memberships,
// and between kinds: the same rules as users', plus a tombstoned parent
// making its memberships stale and removing them. It is skipped when the
// harness's mapping keeps neither.
func runOrganizations(t *testing.T, h Harness) {
	for _, k := range []store.Kind{store.KindOrganization, store.KindMembership} {
		if _, ok := h.mapping().For(k); !ok {
			t.Skipf("the mapping keeps no %ss", k)
		}
	}
	t.Run("organization lifecycle", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		o := e.g.NewOrg(nil)
		created := e.g.OrgCreated(o)
		e.expect(store.Applied, created)
		e.wantKind(store.KindOrganization, o)
		e.expect(store.Applied, e.g.OrgUpdated(o))
		e.wantKind(store.KindOrganization, o)
		e.expect(store.Stale, created) // late, under a new svix-id
		e.wantKind(store.KindOrganization, o)
		e.expect(store.Applied, e.g.OrgDeleted(o))
		e.wantKind(store.KindOrganization)
		e.tombstoned(store.KindOrganization, o.ID)
		e.expect(store.Stale, created) // no resurrection
		e.wantKind(store.KindOrganization)
	})

	t.Run("membership lifecycle, role changes out of order", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, o := e.g.NewUser(), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.Created(u))
		e.expect(store.Applied, e.g.OrgCreated(o))
		m := e.g.NewMember(o, u)
		created := e.g.MemberCreated(m)
		promoted := e.g.MemberUpdated(m) // admin
		e.expect(store.Applied, promoted)
		e.expect(store.Stale, created)
		e.wantKind(store.KindMembership, m)
		if rows, _ := e.st.Rows(context.Background(), store.KindMembership); len(rows) != 1 || rows[0].Other["role"] != "org:admin" {
			t.Fatalf("rows %+v, want the admin role of the later update", rows)
		}
		e.expect(store.Applied, e.g.MemberDeleted(m))
		e.wantKind(store.KindMembership)
		e.expect(store.Stale, promoted)
		e.wantKind(store.KindMembership)
		e.wantKind(store.KindOrganization, o) // a membership's deletion leaves its parents
		e.wantRows(u)
	})

	t.Run("a membership before its organization and its user is written", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, o := e.g.NewUser(), e.g.NewOrg(nil)
		m := e.g.NewMember(o, u)
		e.expect(store.Applied, e.g.MemberCreated(m))
		e.wantKind(store.KindMembership, m)
		e.expect(store.Applied, e.g.OrgCreated(o))
		e.expect(store.Applied, e.g.Created(u))
		e.wantKind(store.KindMembership, m)
		e.wantKind(store.KindOrganization, o)
		e.wantRows(u)
		// The parents it named first are not states of their own until
		// their events came.
		if s, _ := e.stateOf(store.Ref{Kind: store.KindOrganization, ID: o.ID}); s.Version != o.UpdatedAt {
			t.Fatalf("organization state %+v, want version %d", s, o.UpdatedAt)
		}
	})

	t.Run("a membership after its organization's deletion is stale", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, o := e.g.NewUser(), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.OrgCreated(o))
		m := e.g.NewMember(o, u)
		created := e.g.MemberCreated(m)
		e.expect(store.Applied, e.g.OrgDeleted(o))
		id := e.expect(store.Stale, created)
		e.wantKind(store.KindMembership)
		if r := e.record(id); len(r.Payload) == 0 {
			t.Fatal("the body of a membership of a deleted organization was erased; only a user's deletion erases")
		}
	})

	t.Run("a membership after its user's deletion is stale and its body not kept", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, o := e.g.NewUser(), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.Created(u))
		m := e.g.NewMember(o, u)
		created := e.g.MemberCreated(m)
		e.expect(store.Applied, e.g.Deleted(u))
		id := e.expect(store.Stale, created)
		e.wantKind(store.KindMembership)
		if r := e.record(id); len(r.Payload) != 0 || r.UserID != u.ID {
			t.Fatalf("ledger row %+v: want the member's id and no body (the user is erased)", r)
		}
	})

	t.Run("an organization deleted with live members removes them", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		o, other := e.g.NewOrg(nil), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.OrgCreated(o))
		e.expect(store.Applied, e.g.OrgCreated(other))
		var members []Entity
		var inFlight []fake.Event
		for range 3 {
			u := e.g.NewUser()
			m := e.g.NewMember(o, u)
			e.expect(store.Applied, e.g.MemberCreated(m))
			inFlight = append(inFlight, e.g.MemberUpdated(m)) // delivered after the deletion
			elsewhere := e.g.NewMember(other, u)
			e.expect(store.Applied, e.g.MemberCreated(elsewhere))
			members = append(members, m, elsewhere)
		}
		e.expect(store.Applied, e.g.OrgDeleted(o))
		for _, ev := range inFlight {
			e.expect(store.Stale, ev)
		}
		e.wantKind(store.KindMembership, members...) // only the other organization's
		for _, m := range members {
			if m := m.(*fake.Member); m.Org == o {
				e.tombstoned(store.KindMembership, m.ID)
				e.expect(store.Stale, e.g.MemberDeleted(m)) // Clerk may or may not send it
			}
		}
		e.wantKind(store.KindOrganization, o, other)
	})

	t.Run("a deletion drops the deleted entity's links", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		o, other := e.g.NewOrg(nil), e.g.NewOrg(nil)
		u, leaving := e.g.NewUser(), e.g.NewUser()
		e.expect(store.Applied, e.g.OrgCreated(o))
		e.expect(store.Applied, e.g.OrgCreated(other))
		stays, left, gone := e.g.NewMember(o, u), e.g.NewMember(o, leaving), e.g.NewMember(other, u)
		for _, m := range []*fake.Member{stays, left, gone} {
			e.expect(store.Applied, e.g.MemberCreated(m))
		}
		e.wantLinks(6, "three memberships, each linked to its organization and its user")
		e.expect(store.Applied, e.g.MemberDeleted(gone))
		e.wantLinks(4, "after organizationMembership.deleted")
		e.expect(store.Applied, e.g.Deleted(leaving))
		e.wantLinks(2, "after user.deleted of a member")
		e.expect(store.Applied, e.g.OrgDeleted(o))
		e.wantLinks(0, "after organization.deleted")
		e.expect(store.Stale, e.g.MemberUpdated(stays)) // late, and not linked again
		e.wantLinks(0, "after a late update of a deleted membership")
		e.wantKind(store.KindMembership)
	})

	t.Run("a user deleted who is a member of two organizations", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u, keep := e.g.NewUser(), e.g.NewUser()
		e.expect(store.Applied, e.g.Created(u))
		var ms []Entity
		var ids []string
		for range 2 {
			o := e.g.NewOrg(u)
			e.expect(store.Applied, e.g.OrgCreated(o))
			m, k := e.g.NewMember(o, u), e.g.NewMember(o, keep)
			ids = append(ids, e.expect(store.Applied, e.g.MemberCreated(m)))
			e.expect(store.Applied, e.g.MemberCreated(k))
			ms = append(ms, m, k)
		}
		e.expect(store.Applied, e.g.Deleted(u))
		e.wantKind(store.KindMembership, ms...)
		for _, id := range ids {
			if r := e.record(id); len(r.Payload) != 0 {
				t.Fatalf("membership delivery %s still holds the deleted user's data: %s", id, r.Payload)
			}
		}
	})

	t.Run("soft delete marks the organization and its members", func(t *testing.T) {
		e := newEnv(t, h, store.SoftDelete)
		u, o := e.g.NewUser(), e.g.NewOrg(nil)
		e.expect(store.Applied, e.g.OrgCreated(o))
		m := e.g.NewMember(o, u)
		e.expect(store.Applied, e.g.MemberCreated(m))
		e.expect(store.Applied, e.g.OrgDeleted(o))
		for _, kind := range []store.Kind{store.KindOrganization, store.KindMembership} {
			rows, err := e.st.Rows(context.Background(), kind)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || !rows[0].Deleted {
				t.Fatalf("%ss: %+v, want one row marked deleted", kind, rows)
			}
		}
	})

	t.Run("two replicas: a membership racing its organization's deletion", func(t *testing.T) {
		if h.Pair == nil {
			t.Skip("one applier only")
		}
		a, b := h.Pair(t)
		g := fake.New(5, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
		var all []Entity
		for i := range 100 {
			o, u := g.NewOrg(nil), g.NewUser()
			MustApply(t, a, fmt.Sprintf("msg_race_org_%d", i), g.OrgCreated(o))
			m := g.NewMember(o, u)
			created, deleted := g.MemberCreated(m), g.OrgDeleted(o)
			var wg sync.WaitGroup
			wg.Go(func() { Apply(t, a, fmt.Sprintf("msg_race_mem_%d", i), created) })
			wg.Go(func() { Apply(t, b, fmt.Sprintf("msg_race_del_%d", i), deleted) })
			wg.Wait()
			all = append(all, m)
		}
		m := h.mapping()
		if diff := diffKind(t, a, m, store.KindMembership, all...); diff != "" {
			t.Fatalf("memberships of deleted organizations left behind:\n%s", diff)
		}
	})

	t.Run("property: a mixed stream in any order, duplicated", func(t *testing.T) {
		runMixedProperty(t, h)
	})
}

// mixedCase is a small world of users, organizations and memberships,
// their events as Clerk emitted them, and the same deliveries shuffled
// with duplicates.
type mixedCase struct {
	entities []Entity
	inOrder  []item
	shuffled []item
}

func newMixedCase(g *fake.Generator, rng *rand.Rand, n int) mixedCase {
	var c mixedCase
	var evs []fake.Event
	users := []*fake.User{g.NewUser(), g.NewUser()}
	orgs := []*fake.Org{g.NewOrg(users[0]), g.NewOrg(users[1])}
	for _, u := range users {
		evs = append(evs, g.Created(u))
		c.entities = append(c.entities, u)
	}
	for _, o := range orgs {
		evs = append(evs, g.OrgCreated(o))
		c.entities = append(c.entities, o)
	}
	var members []*fake.Member
	for _, o := range orgs {
		for _, u := range users {
			if rng.IntN(4) > 0 {
				m := g.NewMember(o, u)
				members = append(members, m)
				evs = append(evs, g.MemberCreated(m))
				c.entities = append(c.entities, m)
			}
		}
	}
	for range rng.IntN(6) {
		switch k := rng.IntN(10); {
		case k < 4 && len(members) > 0:
			if m := members[rng.IntN(len(members))]; !m.Deleted {
				evs = append(evs, g.MemberUpdated(m))
			}
		case k < 6:
			if o := orgs[rng.IntN(len(orgs))]; !o.Deleted {
				evs = append(evs, g.OrgUpdated(o))
			}
		default:
			if u := users[rng.IntN(len(users))]; !u.Deleted {
				evs = append(evs, g.Updated(u))
			}
		}
	}
	// Deletions, some of which Clerk may follow with the memberships' own.
	if rng.IntN(2) == 0 {
		o := orgs[rng.IntN(len(orgs))]
		evs = append(evs, g.OrgDeleted(o))
	}
	if rng.IntN(2) == 0 {
		u := users[rng.IntN(len(users))]
		evs = append(evs, g.Deleted(u))
	}
	for _, m := range members {
		if !m.Deleted && (m.Org.Deleted || m.User.Deleted || rng.IntN(5) == 0) && rng.IntN(2) == 0 {
			evs = append(evs, g.MemberDeleted(m))
		}
	}
	for i, ev := range evs {
		c.inOrder = append(c.inOrder, item{id: fmt.Sprintf("msg_m%d_%d", n, i), ev: ev})
	}
	c.shuffled = slices.Clone(c.inOrder)
	for range rng.IntN(4) {
		c.shuffled = append(c.shuffled, c.inOrder[rng.IntN(len(c.inOrder))])
	}
	rng.Shuffle(len(c.shuffled), func(i, j int) { c.shuffled[i], c.shuffled[j] = c.shuffled[j], c.shuffled[i] })
	return c
}

// runMixedProperty delivers many mixed cases shuffled and duplicated —
// raced by two appliers where the harness has a pair — and checks that
// the three tables hold what Clerk's final state implies.
func runMixedProperty(t *testing.T, h Harness) {
	m := h.mapping()
	var a, b store.Store
	if h.Pair != nil {
		a, b = h.Pair(t)
	} else {
		a, _ = h.Open(t, store.HardDelete)
		b = a
	}
	seed := uint64(len(t.Name()))
	rng := rand.New(rand.NewPCG(seed, 11))
	g := fake.New(seed, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	g.EmailRequired = h.EmailRequired
	n := max(Cases()/10, 20)
	var entities []Entity
	var lanes [2][]item
	for i := range n {
		c := newMixedCase(g, rng, i)
		entities = append(entities, c.entities...)
		for j, it := range c.shuffled {
			lanes[(i+j)%2] = append(lanes[(i+j)%2], it)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for lane, st := range []store.Store{a, b} {
		wg.Go(func() {
			for _, it := range lanes[lane] {
				d, c, err := Delivery(it.id, it.ev)
				if err != nil {
					errs <- err
					return
				}
				for attempt := 1; ; attempt++ {
					o, err := st.Apply(context.Background(), d, c)
					if err == nil {
						break
					}
					if o == store.Failed || attempt == 20 {
						errs <- fmt.Errorf("%s %s, attempt %d: %w", it.ev.Type, it.id, attempt, err)
						return
					}
					// Unavailable (a deadlock between replicas): Svix retries.
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	byKind := map[store.Kind][]Entity{}
	for _, e := range entities {
		switch e.(type) {
		case *fake.User:
			byKind[store.KindUser] = append(byKind[store.KindUser], e)
		case *fake.Org:
			byKind[store.KindOrganization] = append(byKind[store.KindOrganization], e)
		case *fake.Member:
			byKind[store.KindMembership] = append(byKind[store.KindMembership], e)
		}
	}
	for _, kind := range store.Kinds {
		if diff := diffKind(t, a, m, kind, byKind[kind]...); diff != "" {
			t.Fatalf("%ss table after %d mixed cases:\n%s", kind, n, diff)
		}
	}
}
