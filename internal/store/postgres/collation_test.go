package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// A backfill page (ApplyAll) and webhook batches (Apply, group-committed)
// of the same users, racing on a database whose collation is not byte
// order (ICU en-US), must not deadlock. The group commit locks a batch's
// users in byte order (strings.Compare); ApplyAll must lock its page in
// that order too (COLLATE "C"), not in the database's, under which
// mixed-case Clerk ids sort otherwise. The clusters of pgtest use the C
// locale, where the two orders are one: hence a database of its own.
//
// Memberships are left out: the apply function locks a membership's
// parents in (kind, id) order, but a membership has one parent of each
// kind, so no two of its ids are ever compared; and a batch of
// memberships can deadlock with a page of users in any collation (their
// users come in membership order), which the group commit answers by
// applying the batch one delivery at a time. Memberships' deletions racing
// their parent's are TestDeletionsDoNotDeadlockUnderICU's.
func TestBulkAndWebhooksDoNotDeadlockUnderICU(t *testing.T) {
	const (
		// A page, and as many webhooks: as many as the group commit takes
		// in one batch, so that a batch may hold every user of the page.
		users = 64
		// Without COLLATE "C", 43 runs in 45 deadlocked in round 1 and
		// the others by round 4: 40 rounds leave a wide margin.
		rounds = 40
	)
	url := pgtest.URLWithICULocale(t, "en-US")
	// Two stores, as a backfill and a receiver on two replicas. The
	// backfill's connections look for deadlocks after 20 ms, the
	// receiver's only after 10 s, so that PostgreSQL always makes ApplyAll
	// the victim of a deadlock, which it reports: a deadlocked batch of
	// webhooks is applied again one delivery at a time, which hides it.
	backfill, receiver := victimAndOther(t, url)
	bulk := backfill.(store.BulkApplier)

	// A start in the past: the generator's clock never passes the wall
	// clock, and each event moves it on.
	g := fake.New(1, time.Now().Add(-365*24*time.Hour))
	us := make([]*fake.User, users)
	ids := make([]string, users)
	for i := range us {
		ids[i] = reorderedID(g, "user", i, users)
		us[i] = g.UserWithID(ids[i])
	}
	wantOrders(t, url, ids)

	// Each round updates every user twice, once in the page and once by
	// webhook, the newer of the two at random: both paths apply some and
	// find others stale, and the last event of each user must win.
	rnd := rand.New(rand.NewPCG(1, 2))
	type hook struct {
		d store.Delivery
		c store.Change
	}
	parse := func(ev fake.Event) store.Change {
		_, c, err := clerk.Parse(ev.Body)
		if err != nil || c == nil {
			t.Fatalf("generated %s does not parse: %v", ev.Type, err)
		}
		return *c
	}
	began, applied := time.Now(), 0
	for round := range rounds {
		page, hooks := make([]store.Change, users), make([]hook, users)
		for i, u := range us {
			evs := []fake.Event{g.Updated(u), g.Updated(u)}
			rnd.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
			page[i] = parse(evs[0])
			hooks[i] = hook{
				d: store.Delivery{SvixID: fmt.Sprintf("msg_%d_%d", round, i), Type: evs[1].Type, UserID: u.ID, ReceivedAt: time.Now(), Payload: evs[1].Body},
				c: parse(evs[1]),
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		errs := make(chan error, users+1)
		var hooked sync.WaitGroup
		for _, h := range hooks {
			hooked.Go(func() {
				if o, err := receiver.Apply(ctx, h.d, h.c); err != nil || (o != store.Applied && o != store.Stale) {
					errs <- fmt.Errorf("webhook %s: %s %w", h.d.SvixID, o, err)
				}
			})
		}
		hooksDone := make(chan struct{})
		go func() { hooked.Wait(); close(hooksDone) }()
		// The page goes in again and again while webhooks remain, as a
		// restarted backfill's would: once stale it still locks its rows,
		// and so it meets more of the batches.
		for call, more := 1, true; more; call++ {
			applied++
			if _, err := bulk.ApplyAll(ctx, page); err != nil {
				if strings.Contains(err.Error(), "SQLSTATE 40P01") {
					err = fmt.Errorf("deadlocked with the webhooks: %w", err)
				}
				errs <- fmt.Errorf("page (ApplyAll call %d of the round): %w", call, err)
				break
			}
			select {
			case <-hooksDone:
				more = false
			default:
			}
		}
		<-hooksDone
		cancel()
		close(errs)
		for err := range errs {
			t.Errorf("round %d of %d (after %v): %v", round+1, rounds, time.Since(began).Round(time.Millisecond), err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d rounds of %d users, the page applied %d times, in %v", rounds, users, applied, time.Since(began).Round(time.Millisecond))

	rows, err := backfill.Rows(t.Context(), store.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	if diff := storetest.DiffUsers(rows, storetest.Rows(mapping.Default(), us...)); diff != "" {
		t.Fatalf("users table, after every user's last event:\n%s", diff)
	}
}

// A group-committed batch of membership deletions and the deletion of
// their organization or user on another replica, racing on a database
// whose collation is not byte order (ICU en-US), must not deadlock. The
// batch locks its memberships' bookkeeping rows in byte order
// (strings.Compare); the parent's deletion tombstones its memberships one
// by one as it walks them through clerk_sync_links, and must walk them in
// that order too (COLLATE "C"), not in the database's, under which
// mixed-case Clerk ids sort otherwise.
func TestDeletionsDoNotDeadlockUnderICU(t *testing.T) {
	const (
		// Memberships of each deleted parent: the first half with "a"
		// after orgmem_2, the second with "A" (see reorderedID). The batch
		// locks the second half first, the parent's deletion under the
		// database's collation the first. No more than the group commit
		// takes in one batch.
		members = 32
		// Even rounds delete an organization, odd rounds a user. Without
		// COLLATE "C", 81 rounds in 320 deadlocked (of both kinds), and 22
		// runs in 22 failed, by round 12 at the latest: 30 rounds leave a
		// wide margin.
		rounds = 30
	)
	url := pgtest.URLWithICULocale(t, "en-US")
	// Two stores, as two replicas of the receiver: one gets the
	// memberships' deletions, the other their parent's. The latter's
	// connections look for deadlocks after 20 ms, the former's only after
	// 10 s, so that PostgreSQL makes the parent's deletion the victim of a
	// deadlock, which Apply reports: a deadlocked batch is applied again
	// one delivery at a time, which hides it (the server's count of
	// deadlocks, checked at the end, would still show it).
	deleter, batcher := victimAndOther(t, url)
	db := connect(t, url, "SELECT 1")

	// A start in the past: the generator's clock never passes the wall
	// clock, and each event moves it on.
	g := fake.New(2, time.Now().Add(-365*24*time.Hour))
	// The users of each deleted organization's memberships, and the
	// organizations of each deleted user's.
	users, orgs := make([]*fake.User, members), make([]*fake.Org, members)
	var setup []applied
	for i := range members {
		users[i], orgs[i] = g.NewUser(), g.NewOrg(nil)
		setup = append(setup,
			applied{st: batcher, d: deliveryOf(t, fmt.Sprintf("msg_user_%d", i), g.Created(users[i]))},
			applied{st: batcher, d: deliveryOf(t, fmt.Sprintf("msg_org_%d", i), g.OrgCreated(orgs[i]))})
	}
	mustApplyTogether(t, "the users and organizations' creation", setup)

	var (
		all               []*fake.Member
		allUsers, allOrgs = slices.Clone(users), slices.Clone(orgs)
		// Rounds in which one batch tombstoned memberships of both halves,
		// locking them in the opposite order to the database's collation.
		straddled int
		began     = time.Now()
	)
	for round := range rounds {
		ms := make([]*fake.Member, members)
		var (
			parent  store.Ref
			created fake.Event
			deleted func() fake.Event
		)
		if round%2 == 0 {
			o := g.NewOrg(nil)
			allOrgs = append(allOrgs, o)
			for i := range ms {
				ms[i] = g.NewMember(o, users[i])
			}
			parent, created, deleted = store.Ref{Kind: store.KindOrganization, ID: o.ID}, g.OrgCreated(o), func() fake.Event { return g.OrgDeleted(o) }
		} else {
			u := g.NewUser()
			allUsers = append(allUsers, u)
			for i := range ms {
				ms[i] = g.NewMember(orgs[i], u)
			}
			parent, created, deleted = store.Ref{Kind: store.KindUser, ID: u.ID}, g.Created(u), func() fake.Event { return g.Deleted(u) }
		}
		ids := make([]string, members)
		for i, m := range ms {
			m.ID = reorderedID(g, "orgmem", i, members)
			ids[i] = m.ID
		}
		all = append(all, ms...)
		if round == 0 {
			wantOrders(t, url, ids) // every round's ids are made alike
		}
		storetest.MustApply(t, batcher, fmt.Sprintf("msg_%d_parent_created", round), created)
		creations, race := make([]applied, members), make([]applied, members, members+1)
		for i, m := range ms {
			creations[i] = applied{st: batcher, d: deliveryOf(t, fmt.Sprintf("msg_%d_%d_created", round, i), g.MemberCreated(m))}
			race[i] = applied{st: batcher, d: deliveryOf(t, fmt.Sprintf("msg_%d_%d_deleted", round, i), g.MemberDeleted(m)),
				want: []store.Outcome{store.Applied, store.Stale}} // stale when the parent's deletion tombstoned it first
		}
		mustApplyTogether(t, fmt.Sprintf("round %d: the memberships' creation", round+1), creations)

		// The memberships' deletions and their parent's, let go together:
		// the group commit takes the former in a batch or two, while the
		// parent's deletion, alone on its replica, walks them in its own
		// order. Its start is delayed by 0 to 7.5 ms, a step more each
		// round, so that whatever the machine's speed, some rounds start
		// it just as a batch starts locking.
		delay := time.Duration(round%16) * 500 * time.Microsecond
		race = append(race, applied{st: deleter, d: deliveryOf(t, fmt.Sprintf("msg_%d_parent_deleted", round), deleted()), after: delay})
		for _, err := range applyTogether(t.Context(), race) {
			if strings.Contains(err.Error(), "SQLSTATE 40P01") {
				err = fmt.Errorf("deadlocked with the batch: %w", err)
			}
			t.Errorf("round %d of %d (the %s deleted %v after its %d memberships, %v into the rounds): %v",
				round+1, rounds, parent.Kind, delay, members, time.Since(began).Round(time.Millisecond), err)
		}
		if t.Failed() {
			t.FailNow()
		}

		// Did a batch tombstone memberships of both halves? A row's xmin
		// is the transaction that tombstoned it; the parent's deletion
		// wrote the parent's row too.
		var both bool
		if err := db.QueryRow(t.Context(), `
			SELECT EXISTS (
				SELECT FROM clerk_sync_entities AS m
				WHERE m.kind = 'membership' AND m.id = ANY($1) AND m.deleted AND m.xmin::text <> (
					SELECT p.xmin::text FROM clerk_sync_entities AS p WHERE p.kind = $2 AND p.id = $3)
				GROUP BY m.xmin::text
				HAVING bool_or(m.id COLLATE "C" < $4) AND bool_or(m.id COLLATE "C" >= $4))`,
			ids, string(parent.Kind), parent.ID, "orgmem_2a").Scan(&both); err != nil {
			t.Fatal(err)
		}
		if both {
			straddled++
		}
	}
	t.Logf("%d rounds of %d memberships in %v; in %d, one batch deleted memberships of both halves",
		rounds, members, time.Since(began).Round(time.Millisecond), straddled)
	if straddled == 0 {
		t.Fatal("no batch deleted memberships of both halves: the parents' deletions always came first, and the test proved nothing")
	}

	ctx := t.Context()
	if rows, err := batcher.Rows(ctx, store.KindMembership); err != nil || len(rows) != 0 {
		t.Fatalf("memberships table: %d rows (%v), want none", len(rows), err)
	}
	states, err := batcher.States(ctx, store.KindMembership)
	if err != nil {
		t.Fatal(err)
	}
	tombstones := 0
	for _, s := range states {
		if s.Deleted {
			tombstones++
		}
	}
	if len(states) != len(all) || tombstones != len(all) {
		t.Fatalf("%d membership states, %d of them tombstones, want %d tombstones", len(states), tombstones, len(all))
	}
	var links int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM clerk_sync_links`).Scan(&links); err != nil || links != 0 {
		t.Fatalf("clerk_sync_links: %d rows (%v), want none: every membership is deleted", links, err)
	}
	for kind, want := range map[store.Kind][]store.User{
		store.KindUser:         storetest.Rows(mapping.Default(), allUsers...),
		store.KindOrganization: storetest.RowsOf(mapping.Default(), store.KindOrganization, allOrgs),
	} {
		rows, err := batcher.Rows(ctx, kind)
		if err != nil {
			t.Fatal(err)
		}
		if diff := storetest.DiffUsers(rows, want); diff != "" {
			t.Fatalf("%ss table, the deleted parents gone and the others kept:\n%s", kind, diff)
		}
	}
	wantNoDeadlocks(t, db, batcher, deleter)
}

// wantNoDeadlocks closes the stores and fails unless the server counted
// no deadlock in the database: none that an Apply reported, and none that
// the group commit hid by applying a deadlocked batch again one delivery
// at a time. A backend's counts reach pg_stat_database for sure when it
// exits, hence the wait for the stores' connections to go.
func wantNoDeadlocks(t *testing.T, db *pgx.Conn, stores ...store.Store) {
	t.Helper()
	for _, st := range stores {
		st.Close()
	}
	ctx := t.Context()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var left int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'clerk-sync'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections of the stores still open 10 s after they closed", left)
		}
	}
	var deadlocks int64
	if err := db.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks); err != nil {
		t.Fatal(err)
	}
	if deadlocks != 0 {
		t.Fatalf("the server counted %d deadlocks in the database", deadlocks)
	}
}

// applied is a delivery for a store, and the outcomes it may have (none:
// applied).
type applied struct {
	st    store.Store
	d     delivered
	want  []store.Outcome
	after time.Duration // how long after the others it goes
}

// delivered is a delivery with its parsed change.
type delivered struct {
	d store.Delivery
	c store.Change
}

// deliveryOf is ev as the syncer hands it to the store under svix-id id,
// as storetest.Apply delivers it.
func deliveryOf(t *testing.T, id string, ev fake.Event) delivered {
	t.Helper()
	parsed, c, err := clerk.Parse(ev.Body)
	if err != nil || c == nil {
		t.Fatalf("generated %s does not parse: %v", ev.Type, err)
	}
	return delivered{
		d: store.Delivery{SvixID: id, Type: parsed.Type, UserID: c.UserID(), ReceivedAt: time.Now().UTC(), Payload: ev.Body},
		c: *c,
	}
}

// applyTogether applies every delivery from a goroutine of its own, all
// let go at once, so that deliveries to one store wait together for its
// committer, which batches them; it returns an error for each delivery
// that failed or had an outcome it should not have.
func applyTogether(ctx context.Context, as []applied) []error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errs := make([]error, len(as))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range as {
		wg.Go(func() {
			<-start
			if a.after > 0 {
				time.Sleep(a.after)
			}
			o, err := a.st.Apply(ctx, a.d.d, a.d.c)
			want := a.want
			if want == nil {
				want = []store.Outcome{store.Applied}
			}
			if err != nil || !slices.Contains(want, o) {
				errs[i] = fmt.Errorf("%s %s: %q %v, want one of %q", a.d.d.Type, a.d.d.SvixID, o, err, want)
			}
		})
	}
	close(start)
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	return failed
}

// mustApplyTogether is applyTogether that fails the test on any error.
func mustApplyTogether(t *testing.T, what string, as []applied) {
	t.Helper()
	errs := applyTogether(t.Context(), as)
	for _, err := range errs {
		t.Errorf("%s: %v", what, err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
}

// reorderedID is the i-th of n Clerk-style ids (prefix, _2 and 26 base62
// characters) that ICU's collation orders otherwise than byte by byte:
// the first half has "a" after prefix_2, the second "A", then comes i.
// Byte order puts the second half first ('A' < 'a'); ICU compares letters
// regardless of case first, so i decides, and the halves stay in order.
// Every batch of webhooks that holds ids of both halves then locks them
// in the opposite order to a page's, or to a deleted parent's walk of its
// memberships, were those to follow the database's collation. Random ids disagree between the orders too, but
// less: with them, the test failed without the fix 4 times in 5.
func reorderedID(g *fake.Generator, prefix string, i, n int) string {
	c := "a"
	if i >= n/2 {
		c = "A"
	}
	random := g.ID(prefix)
	return fmt.Sprintf("%s_2%s%03d%s", prefix, c, i, random[len(prefix)+len("_2")+4:])
}

// wantOrders fails unless the database orders ids (reorderedID's, in
// order of i) as they are, while byte order puts their second half
// first: so that the test cannot pass on a database whose collation is
// byte order (C), where no deadlock of this kind can happen.
func wantOrders(t *testing.T, url string, ids []string) {
	t.Helper()
	var database, bytes []string
	err := connect(t, url, "SELECT 1").QueryRow(t.Context(), `
		SELECT array_agg(id ORDER BY id), array_agg(id ORDER BY id COLLATE "C") FROM unnest($1::text[]) AS id`,
		ids).Scan(&database, &bytes)
	if err != nil {
		t.Fatal(err)
	}
	half := len(ids) / 2
	if !slices.Equal(bytes, slices.Concat(ids[half:], ids[:half])) {
		t.Fatalf("COLLATE \"C\" orders the ids otherwise than their bytes: %q", bytes)
	}
	if slices.Equal(database, bytes) {
		t.Fatal("the database orders the ids byte by byte: the test needs a collation that does not")
	}
	if !slices.Equal(database, ids) {
		t.Fatalf("the database orders the ids otherwise than ICU en-US: %q", database)
	}
}

// withParam is url with the query parameter k=v, which pgx sends as a
// run-time setting when it is not one of its own.
// victimAndOther opens two stores on the database at url, like two
// replicas: PostgreSQL looks for deadlocks on the victim's connections
// after 20 ms, on the other's only after 10 s, so that the victim is the
// one a deadlock aborts.
func victimAndOther(t *testing.T, url string) (victim, other store.Store) {
	victim, _ = storetest.PostgresAt(t, withParam(t, url, "deadlock_timeout", "20ms"), store.HardDelete)
	other, _ = storetest.PostgresAt(t, withParam(t, url, "deadlock_timeout", "10s"), store.HardDelete)
	return victim, other
}

func withParam(t *testing.T, url, k, v string) string {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
