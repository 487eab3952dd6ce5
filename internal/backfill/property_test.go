package backfill_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/user"
	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// propertyRaces is how many runs TestPropertyWebhooksBackfillReconcile
// makes per store: PROPERTY_RACES when set (hundreds for a long hunt),
// else 3, so that it stays quick in CI. Their seeds follow PROPERTY_SEED
// when set, else the clock; a failing run names its seed.
func propertyRaces(t *testing.T) (n int, seed uint64) {
	n, seed = 3, uint64(time.Now().UnixNano())
	if s := os.Getenv("PROPERTY_RACES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("PROPERTY_RACES=%q: want a positive number", s)
		}
	}
	if s, err := strconv.ParseUint(os.Getenv("PROPERTY_SEED"), 10, 64); err == nil {
		seed = s
	}
	return n, seed
}

// A fake instance takes random writes through its API (clerk-sdk-go),
// each firing a webhook that reaches a real receiver dropped, duplicated
// and shuffled, while backfills (some stopped half-way and resumed) and
// reconciles with --apply (some paging by offset, so that the writer's
// deletions shift their pages) run at random points. However it
// interleaves: no user the table tombstoned is alive in Clerk, no deleted
// user has a row again, a run that lost no webhook leaves the table equal
// to Clerk's users already, and one reconcile --apply at the end makes
// any table equal to them.
func TestPropertyWebhooksBackfillReconcile(t *testing.T) {
	races, first := propertyRaces(t)
	var shifted atomic.Int64
	for name, open := range stores {
		for seed := first; seed < first+uint64(races); seed++ {
			t.Run(name, func(t *testing.T) {
				t.Logf("PROPERTY_SEED=%d PROPERTY_RACES=1 reproduces this run", seed)
				st, _ := open(t, store.HardDelete)
				runProperty(t, st, seed, &shifted)
			})
		}
	}
	// Each run deletes users under reconciles that page by offset.
	if shifted.Load() == 0 {
		t.Error("no reconcile had a live user hidden by a shifted page: the page-shift case went untested")
	}
}

// Every third seed loses no webhook; the others drop up to a fifth.
func dropShare(seed uint64, rng *rand.Rand) float64 {
	if seed%3 == 0 {
		return 0
	}
	return rng.Float64() / 5
}

func runProperty(t *testing.T, st store.Store, seed uint64, shifted *atomic.Int64) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b9))
	r, hooks := newRig(t, st, seed, rng)
	in, api := r.in, r.api
	ctx := context.Background()
	hooks.start(4)
	var (
		wg                sync.WaitGroup
		writeErr, syncErr error
	)
	writerRng, syncRng := rand.New(rand.NewPCG(rng.Uint64(), 1)), rand.New(rand.NewPCG(rng.Uint64(), 2))
	r.writing.Store(true)
	wg.Go(func() {
		writeErr = r.write(ctx, writerRng, 100+writerRng.IntN(100))
		r.writing.Store(false)
	})
	wg.Go(func() { syncErr = r.sync(ctx, syncRng, 3+syncRng.IntN(4)) })
	wg.Wait()
	// The writer and the runs are done: the deliveries still waiting go.
	hooks.close()
	if writeErr != nil || syncErr != nil {
		t.Fatalf("writer: %v; runs: %v", writeErr, syncErr)
	}
	shifted.Add(r.hidden.Load())
	lost := hooks.dropped + hooks.failed
	t.Logf("%d users in Clerk; %d webhooks, %d dropped, %d sent twice, %d undelivered; %d live users hidden by a shifted page",
		in.Len(), hooks.sent, hooks.dropped, hooks.doubled, hooks.failed, r.hidden.Load())

	wantNoneBack(t, st, in, hooks.deleted)
	if lost == 0 {
		wantTable(t, st, in)
		if t.Failed() {
			t.Fatal("no webhook was lost, yet the table differs from Clerk before any repair")
		}
	}
	rep, err := backfill.Reconcile(ctx, api, st, backfill.ReconcileOptions{Apply: true})
	if err != nil || rep.Unrepaired() != 0 {
		t.Fatalf("the last reconcile: %v, unrepaired %+v", err, rep.Drift)
	}
	if rep, err = backfill.Reconcile(ctx, api, st, backfill.ReconcileOptions{}); err != nil || len(rep.Drift) != 0 {
		t.Fatalf("after the repair: %v, drift %+v", err, rep.Drift)
	}
	wantTable(t, st, in)
	wantNoneBack(t, st, in, hooks.deleted)
}

// newRig serves a fake instance whose webhooks go through a chaos
// sender to a real receiver that writes st.
func newRig(t *testing.T, st store.Store, seed uint64, rng *rand.Rand) (*rig, *chaos) {
	in := fakeclerk.NewInstance()
	in.Seed(30+rng.IntN(40), seed+1)
	secret := fake.NewSecret()
	parsed, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	local, _, err := server.Handlers(server.Config{Path: "/hook", Secret: parsed, MaxBody: webhook.DefaultMaxBody, MaxInFlight: webhook.DefaultMaxInFlight}, st)
	if err != nil {
		t.Fatal(err)
	}
	receiver := httptest.NewServer(local)
	t.Cleanup(receiver.Close)
	signer, err := fake.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	hooks := newChaos(rng.Uint64(), dropShare(seed, rng), &fake.Deliverer{
		Client: receiver.Client(), URL: receiver.URL + "/hook", Signer: signer,
		Schedule: []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond},
	})
	clerkSrv := httptest.NewServer(fakeclerk.NewAPI(in, fakeclerk.APIOptions{Key: key, Webhooks: hooks, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(clerkSrv.Close)
	api, err := clerkapi.New(key, clerkSrv.URL, clerkapi.Options{Rate: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	url, k := clerkSrv.URL+"/v1", key
	return &rig{
		in: in, st: st, api: api,
		users: user.NewClient(&sdk.ClientConfig{BackendConfig: sdk.BackendConfig{Key: &k, URL: &url}}),
	}, hooks
}

// wantNoneBack fails when a tombstoned user is alive in Clerk (a live
// user deleted), or when a user whose deletion reached the table, or any
// tombstoned user, has a row.
func wantNoneBack(t *testing.T, st store.Store, in *fakeclerk.Instance, deleted map[string]bool) {
	t.Helper()
	ctx := context.Background()
	states, err := st.States(ctx, store.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	tombstoned := map[string]bool{}
	for _, s := range states {
		if s.Deleted {
			tombstoned[s.ID] = true
			if _, err := in.Get(s.ID); err == nil {
				t.Errorf("%s is tombstoned, yet alive in Clerk", s.ID)
			}
		}
	}
	rows, err := st.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if tombstoned[r.ClerkID] || deleted[r.ClerkID] {
			t.Errorf("%s was deleted, yet has a row (tombstoned: %v)", r.ClerkID, tombstoned[r.ClerkID])
		}
	}
}

// rig is one run of the property: the instance, its API read by the
// runs and written by clerk-sdk-go, and the table.
type rig struct {
	in    *fakeclerk.Instance
	st    store.Store
	api   *clerkapi.Client
	users *user.Client

	writing atomic.Bool  // the writer is at work
	writes  atomic.Int64 // it made this many writes
	hidden  atomic.Int64 // live users that a shifted page hid from a reconcile
}

// write makes n random writes: creations, updates and deletions.
func (r *rig) write(ctx context.Context, rng *rand.Rand, n int) error {
	for i := range n {
		live := r.in.Users()
		var err error
		switch p := rng.IntN(100); {
		case p < 30 || len(live) == 0:
			_, err = r.users.Create(ctx, &user.CreateParams{
				EmailAddresses: &[]string{fmt.Sprintf("user%d.%d@example.com", i, rng.IntN(1e6))},
				FirstName:      sdk.String(fmt.Sprintf("First%d", i)),
			})
		case p < 75:
			_, err = r.users.Update(ctx, live[rng.IntN(len(live))].ID, &user.UpdateParams{FirstName: sdk.String(fmt.Sprintf("Renamed%d", i))})
		default:
			_, err = r.users.Delete(ctx, live[rng.IntN(len(live))].ID)
		}
		if err != nil && !isNotFound(err) { // a reconcile's page shifter may have deleted it
			return fmt.Errorf("write %d: %w", i, err)
		}
		r.writes.Add(1)
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		}
	}
	return nil
}

// offsets pages by offset, as an instance that refuses the cursor makes
// clerkapi do, slowly, and now and then deletes a user of the page it
// has just read, so that its later pages shift: the next page then
// misses a live user, which a reconcile must ask for by id rather than
// delete.
type offsets struct {
	*rig
	rng *rand.Rand // used by one run at a time
}

func (o offsets) EachPage(ctx context.Context, c clerkapi.Cursor, limit int, fn func(clerkapi.Page, clerkapi.Cursor) error) error {
	c.Offsets = true
	return o.api.EachPage(ctx, c, limit, func(p clerkapi.Page, next clerkapi.Cursor) error {
		if err := fn(p, next); err != nil {
			return err
		}
		if len(p) > 0 && o.rng.IntN(2) == 0 {
			if _, err := o.users.Delete(ctx, gjson.GetBytes(p[o.rng.IntN(len(p))], "id").Str); err != nil && !isNotFound(err) {
				return err
			}
		}
		// Let a write or two land, as on a busy instance.
		seen := o.writes.Load()
		for deadline := time.Now().Add(time.Duration(o.rng.IntN(4000)) * time.Microsecond); o.writes.Load() == seen && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
		return nil
	})
}

func (o offsets) CountUsers(ctx context.Context) (int64, error) { return o.api.CountUsers(ctx) }

// User counts the users asked for by id that are alive: missed by a
// listing whose pages shifted.
func (o offsets) User(ctx context.Context, id string) (json.RawMessage, error) {
	raw, err := o.api.User(ctx, id)
	if err == nil {
		o.hidden.Add(1)
	}
	return raw, err
}

func isNotFound(err error) bool {
	var apiErr *sdk.APIErrorResponse
	return errors.As(err, &apiErr) && apiErr.HTTPStatusCode == http.StatusNotFound
}

// sync runs backfills and reconciles (with --apply), one after the other
// with random gaps and page sizes, at least n and on until the writer is
// done; some backfills are stopped after a page, as Ctrl-C would, for
// the next to resume.
func (r *rig) sync(ctx context.Context, rng *rand.Rand, n int) error {
	for i := 0; i < n || r.writing.Load(); i++ {
		time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
		var src backfill.Source = r.api
		if rng.IntN(3) > 0 {
			src = offsets{r, rng}
		}
		size := 3 + rng.IntN(15)
		if rng.IntN(3) > 0 {
			if _, err := backfill.Reconcile(ctx, src, r.st, backfill.ReconcileOptions{Apply: true, PageSize: size}); err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
			continue
		}
		run, stop := context.WithCancel(ctx)
		stopAfter := rng.IntN(6) // 0: runs to the end
		opts := backfill.Options{PageSize: size, Restart: rng.IntN(4) == 0, OnPage: func(p backfill.Progress) {
			if p.Pages == stopAfter {
				stop()
			}
		}}
		_, err := backfill.Run(run, src, r.st, opts)
		stop()
		if err != nil && !errors.Is(err, backfill.ErrStopped) {
			return fmt.Errorf("backfill: %w", err)
		}
	}
	return nil
}

// chaos is the instance's webhook sender at its worst: it drops a share
// of the events, sends some twice under one svix-id, and delivers them
// in a random order, from several goroutines, with Svix's retries
// compressed.
type chaos struct {
	dv   *fake.Deliverer
	drop float64

	mu      sync.Mutex
	rng     *rand.Rand
	waiting []fake.Delivery
	closed  bool
	wg      sync.WaitGroup
	// What became of the events.
	sent, dropped, doubled, failed int
	deleted                        map[string]bool // users whose user.deleted was answered 2xx
}

func newChaos(seed uint64, drop float64, dv *fake.Deliverer) *chaos {
	return &chaos{dv: dv, drop: drop, rng: rand.New(rand.NewPCG(seed, 3)), deleted: map[string]bool{}}
}

// Send queues the webhook of a write, or drops it.
func (c *chaos) Send(ev fakeclerk.Event) {
	body, err := json.Marshal(map[string]any{"data": json.RawMessage(ev.Data), "object": "event", "timestamp": ev.Timestamp, "type": ev.Type})
	if err != nil {
		panic(err) // Data is the JSON the instance rendered
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent++
	if c.rng.Float64() < c.drop {
		c.dropped++
		return
	}
	d := fake.Delivery{ID: fmt.Sprintf("msg_%d", c.sent), Body: body, Event: fake.Event{Type: ev.Type, UserID: ev.UserID, Body: body}}
	c.waiting = append(c.waiting, d)
	if c.rng.IntN(5) == 0 {
		c.doubled++
		c.waiting = append(c.waiting, d)
	}
}

// start delivers with n goroutines, each taking a random waiting event.
func (c *chaos) start(n int) {
	for range n {
		c.wg.Go(func() {
			for {
				d, ok, done := c.next()
				switch {
				case done:
					return
				case !ok:
					time.Sleep(time.Millisecond)
					continue
				}
				a := c.dv.Deliver(context.Background(), d)
				c.mu.Lock()
				switch {
				case !a.OK():
					c.failed++
				case d.Event.Type == clerk.UserDeleted:
					c.deleted[d.Event.UserID] = true
				}
				c.mu.Unlock()
			}
		})
	}
}

// next takes a random waiting event; done once closed and none waits.
func (c *chaos) next() (d fake.Delivery, ok, done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiting) == 0 {
		return d, false, c.closed
	}
	i := c.rng.IntN(len(c.waiting))
	d = c.waiting[i]
	c.waiting[i] = c.waiting[len(c.waiting)-1]
	c.waiting = c.waiting[:len(c.waiting)-1]
	return d, true, false
}

// close lets the deliverers finish what waits, and waits for them; the
// counts are final once it returns.
func (c *chaos) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
}
