package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Cases is how many random cases the property tests run per store:
// PROPERTY_CASES when set, else 1,000.
func Cases() int {
	if n, err := strconv.Atoi(os.Getenv("PROPERTY_CASES")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// item is one delivery of a case: a svix-id and the event it carries.
type item struct {
	id string
	ev fake.Event
}

// pcase is one random user: the events Clerk emitted for it, in order, and
// the same deliveries as Svix might make them: shuffled, some repeated.
// Some cases add a twin (the user's last change again, same updated_at,
// other content, new svix-id) and an impostor (a done svix-id again with
// a newer body, which must change nothing).
type pcase struct {
	user     *fake.User
	inOrder  []item
	shuffled []item
}

func newCase(g *fake.Generator, rng *rand.Rand, n int) pcase {
	u, evs := g.Lifecycle(rng.IntN(5), rng.IntN(2) == 0)
	c := pcase{user: u}
	for i, ev := range evs {
		c.inOrder = append(c.inOrder, item{id: fmt.Sprintf("msg_p%d_%d", n, i), ev: ev})
	}
	last := len(evs) - 1 // the last created or updated
	if u.Deleted {
		last--
	}
	if rng.IntN(3) == 0 {
		twin := item{id: fmt.Sprintf("msg_p%d_twin", n), ev: twinOf(u, evs[last], fmt.Sprintf("Twin%d", n))}
		c.inOrder = slices.Insert(c.inOrder, last+1, twin)
	}
	c.shuffled = append(c.shuffled, c.inOrder...)
	for range rng.IntN(4) { // duplicates: the same svix-id and bytes again
		c.shuffled = append(c.shuffled, c.inOrder[rng.IntN(len(c.inOrder))])
	}
	rng.Shuffle(len(c.shuffled), func(i, j int) { c.shuffled[i], c.shuffled[j] = c.shuffled[j], c.shuffled[i] })
	k := rng.IntN(len(c.shuffled))
	k = slices.IndexFunc(c.shuffled, func(it item) bool { return it.id == c.shuffled[k].id })
	if rng.IntN(3) == 0 && k+2 <= len(c.shuffled) {
		// Two places on: the same applier's lane when two race, so the
		// svix-id is done before its impostor comes.
		body := set(evs[last].Body, "type", clerk.UserUpdated)
		body = set(body, "data.updated_at", u.UpdatedAt+3_600_000)
		body = set(body, "data.first_name", "Impostor")
		imp := item{id: c.shuffled[k].id, ev: fake.Event{Type: clerk.UserUpdated, UserID: u.ID, Body: body}}
		c.shuffled = slices.Insert(c.shuffled, k+2, imp)
	}
	return c
}

// twinOf is ev — u's last change — with first_name set to name: the same
// version with other content. Whichever of the two has the greater digest
// is the row every delivery order must end with; u becomes that one.
func twinOf(u *fake.User, ev fake.Event, name string) fake.Event {
	twin := ev
	twin.Body = set(ev.Body, "data.first_name", name)
	data := []byte(gjson.GetBytes(twin.Body, "data").Raw)
	if store.Digest(data) > store.Digest(u.Data) {
		u.FirstName, u.Data = &name, data
	}
	return twin
}

// set is sjson.SetBytes for bodies the test builds itself.
func set(body []byte, path string, v any) []byte {
	out, err := sjson.SetBytes(body, path, v)
	if err != nil {
		panic(err)
	}
	return out
}

func (c pcase) String() string {
	s := c.user.ID + ":"
	for _, it := range c.shuffled {
		s += " " + it.ev.Type + "/" + it.id
	}
	return s
}

func runProperty(t *testing.T, h Harness) {
	t.Run("every permutation of one lifecycle", func(t *testing.T) {
		// created, updated, updated, deleted: all 24 orders, each on its own
		// user, must end like the in-order one: no row, one tombstone.
		e := newEnv(t, h, store.HardDelete)
		var users []*fake.User
		for p, perm := range permutations(4) {
			u, evs := e.g.Lifecycle(2, true)
			users = append(users, u)
			for _, i := range perm {
				id := fmt.Sprintf("msg_perm%d_%d", p, i)
				if _, err := e.applyID(id, evs[i]); err != nil {
					t.Fatalf("permutation %v: %v", perm, err)
				}
			}
		}
		e.wantRows(users...)
		// created and two updates, all 6 orders: the last update wins.
		users = users[:0]
		for p, perm := range permutations(3) {
			u, evs := e.g.Lifecycle(2, false)
			users = append(users, u)
			for _, i := range perm {
				if _, err := e.applyID(fmt.Sprintf("msg_perm3_%d_%d", p, i), evs[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		e.wantRows(users...)
	})
	t.Run("random shuffles with duplicates end as in order", func(t *testing.T) {
		checkShuffles(t, h, false)
	})
	if h.Pair != nil {
		t.Run("two replicas racing end as in order", func(t *testing.T) {
			checkShuffles(t, h, true)
		})
	}
}

// checkShuffles delivers Cases() random cases in order to one database and
// shuffled, with duplicates, to another — with race set, split over two
// stores on that database applying at once. Both tables must equal the
// generator's model, and every svix-id must have been applied exactly once
// (every other delivery of it answered duplicate).
func checkShuffles(t *testing.T, h Harness, race bool) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("PROPERTY_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("PROPERTY_SEED=%d PROPERTY_CASES=%d", seed, Cases())
	inOrder, _ := h.Open(t, store.HardDelete)
	var shuffled store.Store
	var appliers []store.Store
	if race {
		a, b := h.Pair(t)
		shuffled, appliers = a, []store.Store{a, b}
	} else {
		shuffled, _ = h.Open(t, store.HardDelete)
		appliers = []store.Store{shuffled}
	}
	g := fake.New(seed, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	g.EmailRequired = h.EmailRequired
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cases := make([]pcase, Cases())
	for i := range cases {
		cases[i] = newCase(g, rng, i)
	}

	// Cases are independent users, so they run side by side; that also
	// lets the SQLite store commit several at once.
	work := make(chan pcase)
	errs := make(chan error, len(cases))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := runCase(inOrder, appliers, c); err != nil {
					errs <- fmt.Errorf("%s: %w", c, err)
				}
			}
		}()
	}
	for _, c := range cases {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	var want []store.User
	byID := map[string]pcase{}
	for _, c := range cases {
		byID[c.user.ID] = c
		if r := c.user.Row(); r != nil {
			want = append(want, Project(h.mapping(), *r))
		}
	}
	ctx := context.Background()
	for name, st := range map[string]store.Store{"in order": inOrder, "shuffled": shuffled} {
		got, err := st.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := DiffUsers(got, want); diff != "" {
			t.Errorf("%s: users table differs from the model (seed %d):\n%s", name, seed, diff)
		}
	}
	a, err := inOrder.States(ctx, store.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	b, err := shuffled.States(ctx, store.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("user states differ between in-order and shuffled delivery (seed %d)", seed)
	}
}

// runCase applies one case in order to one store and shuffled, split over
// the appliers, to the other database.
func runCase(inOrder store.Store, appliers []store.Store, c pcase) error {
	ctx := context.Background()
	for _, it := range c.inOrder {
		d, ch, err := Delivery(it.id, it.ev)
		if err != nil {
			return err
		}
		if o, err := inOrder.Apply(ctx, d, ch); err != nil || o == store.Duplicate {
			return fmt.Errorf("in order %s: %s %v", it.id, o, err)
		}
	}
	var (
		mu       sync.Mutex
		firstErr error
		nonDup   = map[string]int{}
		wg       sync.WaitGroup
	)
	for a, st := range appliers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := a; i < len(c.shuffled); i += len(appliers) {
				it := c.shuffled[i]
				d, ch, err := Delivery(it.id, it.ev)
				o := store.Outcome("")
				if err == nil {
					o, err = st.Apply(ctx, d, ch)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("shuffled %s: %w", it.id, err)
				}
				if o != store.Duplicate {
					nonDup[it.id]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for _, it := range c.inOrder {
		if nonDup[it.id] != 1 {
			return fmt.Errorf("%s was applied %d times, want exactly once", it.id, nonDup[it.id])
		}
	}
	return nil
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
