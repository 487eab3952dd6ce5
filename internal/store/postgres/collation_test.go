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
// applying the batch one delivery at a time.
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
	backfill, _ := storetest.PostgresAt(t, withParam(t, url, "deadlock_timeout", "20ms"), store.HardDelete)
	receiver, _ := storetest.PostgresAt(t, withParam(t, url, "deadlock_timeout", "10s"), store.HardDelete)
	bulk := backfill.(store.BulkApplier)

	// A start in the past: the generator's clock never passes the wall
	// clock, and each event moves it on.
	g := fake.New(1, time.Now().Add(-365*24*time.Hour))
	us := make([]*fake.User, users)
	ids := make([]string, users)
	for i := range us {
		ids[i] = reorderedID(g, i, users)
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

// reorderedID is the i-th of n Clerk-style ids (user_2 and 26 base62
// characters) that ICU's collation orders otherwise than byte by byte:
// the first half has "a" after user_2, the second "A", then comes i.
// Byte order puts the second half first ('A' < 'a'); ICU compares letters
// regardless of case first, so i decides, and the halves stay in order.
// Every batch of webhooks that holds ids of both halves then locks them
// in the opposite order to the page's, were the page to follow the
// database's collation. Random ids disagree between the orders too, but
// less: with them, the test failed without the fix 4 times in 5.
func reorderedID(g *fake.Generator, i, n int) string {
	c := "a"
	if i >= n/2 {
		c = "A"
	}
	random := g.ID("user")
	return fmt.Sprintf("user_2%s%03d%s", c, i, random[len("user_2")+4:])
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
