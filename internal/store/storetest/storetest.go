// Package storetest is the conformance suite that every store driver
// passes: the rules of the sync contract, checked against a real database,
// plus property tests over shuffled, duplicated and concurrent delivery.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Harness opens stores of one driver for the suite.
type Harness struct {
	// Open returns a store on a fresh, empty database, closed when the test
	// ends, and a function that runs raw SQL on that database (used to give
	// the users table a constraint that the sync must trip over).
	Open func(t *testing.T, mode store.DeleteMode) (store.Store, func(sql string) error)
	// Pair, when set, opens two stores — two pools, as two replicas of
	// the receiver would have — on one fresh database: the property tests
	// then race them against each other.
	Pair func(t *testing.T) (store.Store, store.Store)
	// Mapping is the mapping that Open's stores write through; the zero
	// value is the default. Expected rows hold only the fields it maps.
	Mapping mapping.Mapping
	// EmailRequired: the table cannot hold a user without a primary email
	// (a NOT NULL email column), so the suite invents none.
	EmailRequired bool
}

func (h Harness) mapping() mapping.Mapping {
	if h.Mapping.Table == "" {
		return mapping.Default()
	}
	return h.Mapping
}

// Rows are the rows that the events of users should leave behind under
// mapping m (the deleted users have none).
func Rows(m mapping.Mapping, users ...*fake.User) []store.User {
	return RowsOf(m, store.KindUser, users)
}

// Project is the row that a mapping leaves of a full row: the fields it
// does not write are empty, and the primary key is unknown ("") when the
// mapping fills it with something other than the Clerk id.
func Project(m mapping.Mapping, full store.User) store.User {
	u := store.User{ID: full.ID, ClerkID: full.ClerkID}
	if m.HasID() && m.IDFill != mapping.FillClerkID {
		u.ID = ""
	}
	for _, c := range m.Columns {
		if v, ok := full.Get(string(c.Field)); ok {
			u.Set(string(c.Field), v)
		}
	}
	u.Deleted, u.DeletedAt = full.Deleted, full.DeletedAt
	return u
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("Rules", func(t *testing.T) { runRules(t, h) })
	t.Run("Property", func(t *testing.T) { runProperty(t, h) })
	t.Run("Retention", func(t *testing.T) { runRetention(t, h) })
	t.Run("Jobs", func(t *testing.T) { runJobs(t, h) })
	t.Run("API changes", func(t *testing.T) { runAPIChanges(t, h) })
	t.Run("Organizations", func(t *testing.T) { runOrganizations(t, h) })
}

// env is one test's store with a generator and helpers.
type env struct {
	t    *testing.T
	st   store.Store
	exec func(string) error
	m    mapping.Mapping
	g    *fake.Generator
	seq  int
}

func newEnv(t *testing.T, h Harness, mode store.DeleteMode) *env {
	st, exec := h.Open(t, mode)
	g := fake.New(1, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	g.EmailRequired = h.EmailRequired
	return &env{t: t, st: st, exec: exec, m: h.mapping(), g: g}
}

// column is the name of the column that field goes to; the test is
// skipped when the mapping writes it nowhere.
func (e *env) column(f mapping.Field) string {
	e.t.Helper()
	for _, c := range e.m.Columns {
		if c.Field == f {
			return mapping.Quote(c.Name)
		}
	}
	e.t.Skipf("the mapping writes no %s", f)
	return ""
}

// apply sends ev as a new delivery (fresh svix-id) and returns its id.
func (e *env) apply(ev fake.Event) (string, store.Outcome, error) {
	e.t.Helper()
	e.seq++
	id := fmt.Sprintf("msg_test_%d", e.seq)
	o, err := e.applyID(id, ev)
	return id, o, err
}

func (e *env) applyID(id string, ev fake.Event) (store.Outcome, error) {
	e.t.Helper()
	return Apply(e.t, e.st, id, ev)
}

// Delivery parses a generated event into what the syncer hands the
// store, under svix-id id.
func Delivery(id string, ev fake.Event) (store.Delivery, store.Change, error) {
	parsed, c, err := clerk.Parse(ev.Body)
	if err != nil || c == nil {
		return store.Delivery{}, store.Change{}, fmt.Errorf("generated %s does not parse: %v", ev.Type, err)
	}
	return store.Delivery{SvixID: id, Type: parsed.Type, UserID: c.UserID(), ReceivedAt: time.Now().UTC(), Payload: ev.Body}, *c, nil
}

// expect applies ev as a new delivery and fails unless the outcome is want.
func (e *env) expect(want store.Outcome, ev fake.Event) string {
	e.t.Helper()
	id, o, err := e.apply(ev)
	e.must(want, o, err)
	return id
}

// expectID applies ev under svix-id id and fails unless the outcome is want.
func (e *env) expectID(want store.Outcome, id string, ev fake.Event) {
	e.t.Helper()
	o, err := e.applyID(id, ev)
	e.must(want, o, err)
}

func (e *env) must(want store.Outcome, got store.Outcome, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("outcome: %v, want %s", err, want)
	}
	if got != want {
		e.t.Fatalf("outcome %s, want %s", got, want)
	}
}

// withEmail invents a user with exactly one email, the primary.
func (e *env) withEmail() *fake.User {
	u := e.g.NewUser()
	for len(u.Emails) == 0 {
		u = e.g.NewUser()
	}
	u.Emails = u.Emails[len(u.Emails)-1:]
	u.PrimaryID = &u.Emails[0].ID
	return u
}

// rows returns the users table.
func (e *env) rows() []store.User {
	e.t.Helper()
	users, err := e.st.Users(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return users
}

// wantRows fails unless the users table is exactly want.
func (e *env) wantRows(want ...*fake.User) {
	e.t.Helper()
	if diff := DiffUsers(e.rows(), Rows(e.m, want...)); diff != "" {
		e.t.Fatalf("users table:\n%s", diff)
	}
}

func (e *env) state(userID string) (store.State, bool) {
	e.t.Helper()
	return e.stateOf(store.Ref{Kind: store.KindUser, ID: userID})
}

func (e *env) stateOf(ref store.Ref) (store.State, bool) {
	e.t.Helper()
	states, err := e.st.States(context.Background(), ref.Kind)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range states {
		if s.ID == ref.ID {
			return s, true
		}
	}
	return store.State{}, false
}

func (e *env) record(id string) store.Record {
	e.t.Helper()
	r, err := e.st.Delivery(context.Background(), id)
	if err != nil {
		e.t.Fatalf("ledger row %s: %v", id, err)
	}
	return r
}

func runRules(t *testing.T, h Harness) {
	t.Run("created then updated", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		id, o, err := e.apply(e.g.Created(u))
		e.must(store.Applied, o, err)
		e.wantRows(u)
		e.expect(store.Applied, e.g.Updated(u))
		e.wantRows(u)
		r := e.record(id)
		if r.Outcome != store.Applied || r.Type != clerk.UserCreated || r.UserID != u.ID || r.Attempts != 1 || len(r.Payload) == 0 {
			t.Fatalf("ledger row %+v", r)
		}
		if st, _ := e.state(u.ID); st.Version != u.UpdatedAt || st.Deleted {
			t.Fatalf("state %+v, want version %d", st, u.UpdatedAt)
		}
	})
	t.Run("same svix-id is a duplicate", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		ev := e.g.Created(u)
		id, o, err := e.apply(ev)
		e.must(store.Applied, o, err)
		e.expectID(store.Duplicate, id, ev)
		e.wantRows(u)
		if r := e.record(id); r.Attempts != 1 || r.Outcome != store.Applied {
			t.Fatalf("a duplicate changed the ledger: %+v", r)
		}
	})
	t.Run("a different body under a done svix-id changes nothing", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		id, o, err := e.apply(e.g.Created(u))
		e.must(store.Applied, o, err)
		before, _ := e.state(u.ID)
		newer := *u
		e.expectID(store.Duplicate, id, e.g.Updated(&newer))
		e.wantRows(u)
		if after, _ := e.state(u.ID); after != before {
			t.Fatalf("a duplicate moved the user's state from %+v to %+v", before, after)
		}
		if r := e.record(id); r.Attempts != 1 || r.Outcome != store.Applied || r.Type != clerk.UserCreated {
			t.Fatalf("a duplicate changed the ledger: %+v", r)
		}
	})
	t.Run("equal versions end the same in both orders", func(t *testing.T) {
		// Two bodies with one updated_at: the row must not depend on which
		// came first.
		g := fake.New(2, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
		ev := g.Created(g.NewUser())
		twin := ev
		twin.Body, _ = sjson.SetBytes(ev.Body, "data.first_name", "Twin")
		var rows [2][]store.User
		for i, order := range [][]fake.Event{{ev, twin}, {twin, ev}} {
			e := newEnv(t, h, store.HardDelete)
			e.expect(store.Applied, order[0])
			if _, o, err := e.apply(order[1]); err != nil || (o != store.Applied && o != store.Stale) {
				t.Fatalf("order %d: %s %v", i, o, err)
			}
			rows[i] = e.rows()
			e.expect(store.Stale, order[1]) // the same body again: a tie with itself
		}
		for j := range rows[0] {
			rows[0][j] = Project(h.mapping(), rows[0][j]) // a generated primary key differs
		}
		if diff := DiffUsers(rows[1], rows[0]); diff != "" {
			t.Fatalf("the row depends on the order:\n%s", diff)
		}
	})
	t.Run("update before create creates the user; the late create is stale", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		created := e.g.Created(u)
		e.expect(store.Applied, e.g.Updated(u))
		e.expect(store.Stale, created)
		e.wantRows(u)
	})
	t.Run("an older update is stale", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		e.expect(store.Applied, e.g.Created(u))
		older := e.g.Updated(u)
		e.expect(store.Applied, e.g.Updated(u))
		e.expect(store.Stale, older)
		e.wantRows(u)
	})
	t.Run("same version under a new svix-id is stale", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		ev := e.g.Created(u)
		e.expect(store.Applied, ev)
		id, o, err := e.apply(ev)
		e.must(store.Stale, o, err)
		if r := e.record(id); r.Outcome != store.Stale {
			t.Fatalf("ledger outcome %s, want stale", r.Outcome)
		}
	})
	t.Run("deleted removes the row and tombstones the user", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		created := e.g.Created(u)
		e.expect(store.Applied, created)
		late := e.g.Updated(u)
		e.expect(store.Applied, e.g.Deleted(u))
		e.wantRows()
		if st, ok := e.state(u.ID); !ok || !st.Deleted {
			t.Fatalf("no tombstone: %+v", st)
		}
		// Neither a late update (newer than anything applied) nor a replayed
		// create under a new id brings the user back.
		e.expect(store.Stale, late)
		e.expect(store.Stale, created)
		e.wantRows()
		e.expect(store.Stale, e.g.Deleted(u))
	})
	t.Run("a tombstone wins over a newer version", func(t *testing.T) {
		// Clerk's envelope timestamp may be in seconds, so a user.deleted can
		// carry a smaller version than the user's last update.
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		e.expect(store.Applied, e.g.Created(u))
		late := e.g.Updated(u)
		del := e.g.Deleted(u)
		del.Body, _ = sjson.SetBytes(del.Body, "timestamp", u.CreatedAt/1000)
		e.expect(store.Applied, del)
		e.expect(store.Stale, late)
		e.wantRows()
	})
	t.Run("deleted for an unknown user leaves only a tombstone", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		u := e.g.NewUser()
		created := e.g.Created(u)
		e.expect(store.Applied, e.g.Deleted(u))
		e.expect(store.Stale, created)
		e.wantRows()
		if st, ok := e.state(u.ID); !ok || !st.Deleted {
			t.Fatalf("no tombstone: %+v", st)
		}
	})
	t.Run("soft delete keeps the row with deletedAt", func(t *testing.T) {
		if h.mapping().DeleteColumn == "" {
			t.Skip("the mapping has no soft-delete column")
		}
		e := newEnv(t, h, store.SoftDelete)
		u := e.g.NewUser()
		e.expect(store.Applied, e.g.Created(u))
		want := Project(e.m, *u.Row())
		late := e.g.Updated(u)
		e.expect(store.Applied, e.g.Deleted(u))
		e.expect(store.Stale, late)
		rows := e.rows()
		if len(rows) != 1 || !rows[0].Deleted || (rows[0].DeletedAt != nil && !rows[0].DeletedAt.Equal(time.UnixMilli(u.DeletedAt))) {
			t.Fatalf("rows %+v, want one with deletedAt %v", rows, time.UnixMilli(u.DeletedAt).UTC())
		}
		rows[0].Deleted, rows[0].DeletedAt = false, nil
		if diff := DiffUsers(rows, []store.User{want}); diff != "" {
			t.Fatalf("soft-deleted row changed:\n%s", diff)
		}
	})
	t.Run("ignored and rejected deliveries are recorded", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		ctx := context.Background()
		d := store.Delivery{SvixID: "msg_ignored", Type: "session.created", ReceivedAt: time.Now(), Payload: []byte(`{}`)}
		if o, err := e.st.Record(ctx, d, store.Ignored, ""); err != nil || o != store.Ignored {
			t.Fatalf("record ignored: %s %v", o, err)
		}
		if o, err := e.st.Record(ctx, d, store.Ignored, ""); err != nil || o != store.Duplicate {
			t.Fatalf("record ignored again: %s %v, want duplicate", o, err)
		}
		rej := store.Delivery{SvixID: "msg_rejected", Type: "unknown", ReceivedAt: time.Now(), Payload: []byte(`not json`)}
		for i := 1; i <= 2; i++ {
			if o, err := e.st.Record(ctx, rej, store.Rejected, "malformed"); err != nil || o != store.Rejected {
				t.Fatalf("record rejected #%d: %s %v", i, o, err)
			}
		}
		if r := e.record("msg_rejected"); r.Attempts != 2 || r.Error != "malformed" || string(r.Payload) != "not json" || r.UserID != "" {
			t.Fatalf("rejected ledger row %+v", r)
		}
		if _, err := e.st.Delivery(ctx, "msg_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing delivery: %v, want ErrNotFound", err)
		}
	})
	t.Run("history pages through the ledger, newest first", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		ctx := context.Background()
		base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		for i := range 5 {
			d := store.Delivery{SvixID: fmt.Sprintf("msg_h%d", i), Type: "session.created", ReceivedAt: base.Add(time.Duration(i) * time.Second), Payload: []byte(`{}`)}
			if _, err := e.st.Record(ctx, d, store.Ignored, ""); err != nil {
				t.Fatal(err)
			}
		}
		page, err := e.st.History(ctx, store.Before(base.Add(time.Hour)), 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 3 || page[0].SvixID != "msg_h4" || page[2].SvixID != "msg_h2" || !page[0].ReceivedAt.Equal(base.Add(4*time.Second)) {
			t.Fatalf("first page %+v", page)
		}
		page, err = e.st.History(ctx, page[2].Position(), 3)
		if err != nil || len(page) != 2 || page[0].SvixID != "msg_h1" || page[1].Outcome != store.Ignored {
			t.Fatalf("second page %+v %v", page, err)
		}
		if page, err := e.st.History(ctx, store.Before(base.Add(4*time.Second)), 1); err != nil || len(page) != 1 || page[0].SvixID != "msg_h3" {
			t.Fatalf("before msg_h4's time: %+v %v, want msg_h3", page, err)
		}
	})
	t.Run("history pages through deliveries that share one time", func(t *testing.T) {
		HistoryPaging(t, newEnv(t, h, store.HardDelete).st)
	})
	t.Run("a refused change is recorded as failed and can be retried", func(t *testing.T) {
		// The app's table may make the email unique (the seed plan does):
		// a second user with the same email is refused until the first
		// one's email changes, as Clerk then reports in a user.updated.
		e := newEnv(t, h, store.HardDelete)
		if err := e.exec(fmt.Sprintf(`CREATE UNIQUE INDEX IF NOT EXISTS clerk_sync_test_email ON %s (%s)`,
			e.m.QualifiedName(), e.column(mapping.Email))); err != nil {
			t.Fatal(err)
		}
		a, b := e.withEmail(), e.withEmail()
		b.Emails, b.PrimaryID = a.Emails, a.PrimaryID // the same primary email
		e.expect(store.Applied, e.g.Created(a))
		evB := e.g.Created(b)
		id, o, err := e.apply(evB)
		if o != store.Failed || !errors.Is(err, store.ErrPermanent) {
			t.Fatalf("got %s, %v; want failed, ErrPermanent", o, err)
		}
		if r := e.record(id); r.Outcome != store.Failed || r.Error == "" {
			t.Fatalf("ledger row %+v, want failed with the error", r)
		}
		if _, ok := e.state(b.ID); ok {
			t.Fatal("the failed delivery advanced the user's version")
		}
		e.wantRows(a)
		a.Emails = []fake.Email{{ID: "idn_moved", Address: "moved-" + a.ID + "@example.com"}}
		a.PrimaryID = &a.Emails[0].ID
		e.expect(store.Applied, e.g.Updated(a))
		e.expectID(store.Applied, id, evB)
		if r := e.record(id); r.Outcome != store.Applied || r.Attempts != 2 || r.Error != "" {
			t.Fatalf("retried ledger row %+v", r)
		}
		e.wantRows(a, b)
	})
	t.Run("refused changes among concurrent ones fail alone", func(t *testing.T) {
		// Enough at once to share commits: a refused change must not take
		// the others in its batch down with it.
		e := newEnv(t, h, store.HardDelete)
		if err := e.exec(fmt.Sprintf(`CREATE UNIQUE INDEX IF NOT EXISTS clerk_sync_test_email ON %s (%s)`,
			e.m.QualifiedName(), e.column(mapping.Email))); err != nil {
			t.Fatal(err)
		}
		first := e.withEmail()
		e.expect(store.Applied, e.g.Created(first))
		type job struct {
			ev   fake.Event
			want store.Outcome
		}
		var jobs []job
		for i := range 40 {
			u := e.withEmail()
			want := store.Applied
			if i%2 == 0 {
				u.Emails, u.PrimaryID, want = first.Emails, first.PrimaryID, store.Failed
			} else {
				u.Emails[0].Address = fmt.Sprintf("free-%d@example.com", i)
			}
			jobs = append(jobs, job{e.g.Created(u), want})
		}
		errs := make(chan error, len(jobs))
		for i, j := range jobs {
			go func() {
				d, c, err := Delivery(fmt.Sprintf("msg_c%d", i), j.ev)
				if err != nil {
					errs <- err
					return
				}
				o, err := e.st.Apply(context.Background(), d, c)
				switch {
				case o != j.want:
					errs <- fmt.Errorf("%s: %s %v, want %s", d.SvixID, o, err, j.want)
				case o == store.Failed && !errors.Is(err, store.ErrPermanent):
					errs <- fmt.Errorf("%s: failed with %v, want ErrPermanent", d.SvixID, err)
				default:
					errs <- nil
				}
			}()
		}
		for range jobs {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if rows := e.rows(); len(rows) != 21 {
			t.Fatalf("%d rows, want 21", len(rows))
		}
	})
	t.Run("a closed store is unavailable", func(t *testing.T) {
		e := newEnv(t, h, store.HardDelete)
		if err := e.st.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := e.applyID("msg_closed", e.g.Created(e.g.NewUser()))
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("apply on a closed store: %v, want ErrUnavailable", err)
		}
	})
}

// HistoryPaging checks that st's History pages through deliveries that
// share one time, in pages smaller than their number: a burst can put
// more deliveries in one millisecond than a page holds, and paging by
// time alone would stall or skip them. Within a time the order is the
// svix-ids' bytes, whatever the database's collation: upper case before
// lower, where a collation for people mixes them.
func HistoryPaging(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	later := []string{"msg_Beta", "msg_alpha", "msg_Zeta"}
	earlier := []string{"msg_delta", "msg_Charlie", "msg_echo", "msg_Foxtrot"}
	for i, ids := range [][]string{earlier, later} {
		for _, id := range ids {
			d := store.Delivery{SvixID: id, Type: "session.created", ReceivedAt: at.Add(time.Duration(i) * time.Millisecond), Payload: []byte(`{}`)}
			if _, err := st.Record(ctx, d, store.Ignored, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	p := store.Before(at.Add(time.Hour))
	for range len(later) + len(earlier) {
		page, err := st.History(ctx, p, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			got = append(got, r.SvixID)
		}
		p = page[len(page)-1].Position()
	}
	// Newest first: the later millisecond's, then the earlier's, each by
	// svix-id's bytes, descending.
	want := []string{"msg_alpha", "msg_Zeta", "msg_Beta", "msg_echo", "msg_delta", "msg_Foxtrot", "msg_Charlie"}
	if !slices.Equal(got, want) {
		t.Fatalf("pages of 2 read %v, want %v", got, want)
	}
	// A time finer than the store keeps is after every delivery of its
	// millisecond.
	page, err := st.History(ctx, store.Before(at.Add(time.Millisecond+time.Nanosecond)), 10)
	if err != nil || len(page) != len(want) {
		t.Fatalf("before a time within the later millisecond: %d deliveries (%v), want all %d", len(page), err, len(want))
	}
}
