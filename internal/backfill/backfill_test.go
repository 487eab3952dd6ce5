package backfill_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const key = "sk_test_backfillTestKey0000000000"

// stores are the drivers every test runs on.
var stores = map[string]func(*testing.T, store.DeleteMode) (store.Store, func(string) error){
	"sqlite":   storetest.SQLite,
	"postgres": storetest.Postgres,
}

// clerkWith serves a fake instance of n users and returns it with a
// client of its API.
func clerkWith(t *testing.T, n int, o fakeclerk.APIOptions) (*fakeclerk.Instance, *clerkapi.Client) {
	t.Helper()
	in := fakeclerk.NewInstance()
	in.Seed(n, 1)
	o.Key = key
	srv := httptest.NewServer(fakeclerk.NewAPI(in, o))
	t.Cleanup(srv.Close)
	api, err := clerkapi.New(key, srv.URL, clerkapi.Options{Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return in, api
}

// wantTable fails unless the store's versions are exactly the instance's
// users: every live user at its updated_at, none other alive.
func wantTable(t *testing.T, st store.Store, in *fakeclerk.Instance) {
	t.Helper()
	states, err := st.States(context.Background(), store.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]int64{}
	for _, s := range states {
		if !s.Deleted {
			live[s.ID] = s.Version
		}
	}
	rows, err := st.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != in.Len() {
		t.Errorf("%d rows, want the instance's %d users", len(rows), in.Len())
	}
	byID := map[string]store.User{}
	for _, r := range rows {
		byID[r.ClerkID] = r
	}
	for _, u := range in.Users() {
		if v, ok := live[u.ID]; !ok || v != u.UpdatedAt {
			t.Errorf("%s: version %d (known %v), want %d", u.ID, v, ok, u.UpdatedAt)
		}
		delete(live, u.ID)
		r, ok := byID[u.ID]
		if got, want := fmt.Sprint(deref(r.Email), "|", deref(r.FirstName)), fmt.Sprint(u.PrimaryEmail(), "|", deref(u.FirstName)); !ok || got != want {
			t.Errorf("%s: row %v with email|first name %q, want %q", u.ID, ok, got, want)
		}
	}
	for id := range live {
		t.Errorf("%s is alive in the table, not in Clerk", id)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestBackfillFillsTheTableAndResumes(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			in, api := clerkWith(t, 1234, fakeclerk.APIOptions{})
			st, _ := open(t, store.HardDelete)
			ctx, stop := context.WithCancel(context.Background())
			// Stopped after its first page, as Ctrl-C would.
			p, err := backfill.Run(ctx, api, st, backfill.Options{PageSize: 500, OnPage: func(backfill.Progress) { stop() }})
			if !errors.Is(err, backfill.ErrStopped) || p.Done != 500 || p.Applied != 500 || p.Total != 1234 {
				t.Fatalf("first run: %+v, %v; want stopped after 500 of 1234", p, err)
			}
			// Any process that opens the database sees where it stands.
			if r, ok, err := backfill.ReadRunning(context.Background(), st); err != nil || !ok || r.Done != 500 || r.Total != 1234 || time.Since(r.At) > time.Minute {
				t.Fatalf("the stopped run as the inspector reads it: %+v %v %v", r, ok, err)
			}
			p, err = backfill.Run(context.Background(), api, st, backfill.Options{PageSize: 500})
			if err != nil || !p.Resumed || p.Done != 1234 || p.Applied != 734 || p.Pages != 2 {
				t.Fatalf("resumed run: %+v, %v; want the other 734 users in 2 pages", p, err)
			}
			if _, ok, err := backfill.ReadRunning(context.Background(), st); ok || err != nil {
				t.Fatalf("a finished run still reads as under way: %v %v", ok, err)
			}
			wantTable(t, st, in)
			// Done: the next run reads everything again and changes nothing.
			p, err = backfill.Run(context.Background(), api, st, backfill.Options{PageSize: 500})
			if err != nil || p.Resumed || p.Applied != 0 || p.Stale != 1234 {
				t.Fatalf("a run after a finished one: %+v, %v; want 1234 stale", p, err)
			}
			recs, err := st.History(context.Background(), store.Before(time.Now().Add(time.Hour)), 10)
			if err != nil || len(recs) != 0 {
				t.Fatalf("backfill left %d ledger rows (%v), want none", len(recs), err)
			}
		})
	}
}

// A webhook that made a row newer, or deleted the user, wins over the
// listing, whatever the order.
func TestBackfillKeepsWhatWebhooksWroteLater(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			in, api := clerkWith(t, 40, fakeclerk.APIOptions{})
			st, _ := open(t, store.HardDelete)
			users := in.Users()
			sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
			deleted, newer := users[0], users[1]
			send := func(id, typ string, data []byte, ts int64) {
				t.Helper()
				body := fmt.Appendf(nil, `{"object":"event","type":%q,"timestamp":%d,"data":%s}`, typ, ts, data)
				_, c, err := clerk.Parse(body)
				if err != nil {
					t.Fatal(err)
				}
				d := store.Delivery{SvixID: id, Type: typ, UserID: c.ID, ReceivedAt: time.Now(), Payload: body}
				if o, err := st.Apply(context.Background(), d, *c); o != store.Applied || err != nil {
					t.Fatalf("%s: %s %v", id, o, err)
				}
			}
			send("msg_del", clerk.UserDeleted, fmt.Appendf(nil, `{"id":%q,"object":"user","deleted":true}`, deleted.ID), time.Now().UnixMilli())
			later := *newer
			later.UpdatedAt += 1000
			first := "Later"
			later.FirstName = &first
			send("msg_upd", clerk.UserUpdated, later.Render(), 0)
			if _, err := backfill.Run(context.Background(), api, st, backfill.Options{PageSize: 16}); err != nil {
				t.Fatal(err)
			}
			states, _ := st.States(context.Background(), store.KindUser)
			for _, s := range states {
				switch s.ID {
				case deleted.ID:
					if !s.Deleted {
						t.Errorf("backfill brought back a deleted user: %+v", s)
					}
				case newer.ID:
					if s.Version != later.UpdatedAt {
						t.Errorf("backfill overwrote a newer webhook: version %d, want %d", s.Version, later.UpdatedAt)
					}
				}
			}
			rows, _ := st.Users(context.Background())
			for _, r := range rows {
				if r.ClerkID == deleted.ID {
					t.Error("the deleted user has a row again")
				}
				if r.ClerkID == newer.ID && (r.FirstName == nil || *r.FirstName != "Later") {
					t.Errorf("the newer webhook's first name was overwritten: %v", r.FirstName)
				}
			}
		})
	}
}

// 429s and 5xx answers are waited out and retried: the run ends whole.
func TestBackfillThroughFaults(t *testing.T) {
	in, api := clerkWith(t, 600, fakeclerk.APIOptions{RateLimit: 4, Fail: 0.3, Seed: 3})
	st, _ := storetest.SQLite(t, store.HardDelete)
	p, err := backfill.Run(context.Background(), api, st, backfill.Options{PageSize: 200})
	if err != nil {
		t.Fatalf("%+v: %v", p, err)
	}
	wantTable(t, st, in)
}

func TestReconcile(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			in, api := clerkWith(t, 300, fakeclerk.APIOptions{})
			st, _ := open(t, store.HardDelete)
			ctx := context.Background()
			rep, err := backfill.Reconcile(ctx, api, st, backfill.ReconcileOptions{PageSize: 100})
			if err != nil || rep.Count(backfill.Missing) != 300 || rep.Unrepaired() != 300 {
				t.Fatalf("an empty table: %d missing, %d unrepaired, %v; want 300", rep.Count(backfill.Missing), rep.Unrepaired(), err)
			}
			if rep, err = backfill.Reconcile(ctx, api, st, backfill.ReconcileOptions{PageSize: 100, Apply: true}); err != nil || rep.Unrepaired() != 0 {
				t.Fatalf("--apply: %d unrepaired, %v", rep.Unrepaired(), err)
			}
			wantTable(t, st, in)
			users := in.Users()
			for _, u := range users[:5] {
				if _, err := in.Delete(u.ID); err != nil {
					t.Fatal(err)
				}
			}
			for _, u := range users[5:8] {
				name := "Renamed"
				if _, err := in.Update(u.ID, fakeclerk.Changes{FirstName: fakeclerk.Field[string]{Set: true, Value: &name}}); err != nil {
					t.Fatal(err)
				}
			}
			rep, err = backfill.Reconcile(ctx, api, st, backfill.ReconcileOptions{PageSize: 100, Apply: true})
			if err != nil || rep.Count(backfill.Gone) != 5 || rep.Count(backfill.Behind) != 3 || rep.Count(backfill.Missing) != 0 || rep.Unrepaired() != 0 {
				t.Fatalf("after 5 deletes and 3 updates: %+v, %v", rep.Drift, err)
			}
			wantTable(t, st, in)
			if rep, err = backfill.Reconcile(ctx, api, st, backfill.ReconcileOptions{PageSize: 100}); err != nil || len(rep.Drift) != 0 {
				t.Fatalf("a second reconcile: %+v, %v; want no drift", rep.Drift, err)
			}
		})
	}
}

// shifting pages with offsets, and after each page deletes a user
// already listed (which shifts every later page: a live user is skipped)
// and one not listed yet (which is gone).
type shifting struct {
	*clerkapi.Client
	in            *fakeclerk.Instance
	listed, later []string
}

func (s *shifting) EachPage(ctx context.Context, c clerkapi.Cursor, limit int, fn func(clerkapi.Page, clerkapi.Cursor) error) error {
	c.Offsets = true
	return s.Client.EachPage(ctx, c, limit, func(p clerkapi.Page, next clerkapi.Cursor) error {
		if err := fn(p, next); err != nil {
			return err
		}
		if len(s.listed) > 0 {
			for _, id := range []string{s.listed[0], s.later[0]} {
				if _, err := s.in.Delete(id); err != nil {
					return err
				}
			}
			s.listed, s.later = s.listed[1:], s.later[1:]
		}
		return nil
	})
}

// A user absent from a listing that shifted under it is asked for by id,
// and only a 404 deletes it: no live user is lost.
func TestReconcileNeverDeletesALiveUserOnAShiftedPage(t *testing.T) {
	in, api := clerkWith(t, 200, fakeclerk.APIOptions{})
	st, _ := storetest.SQLite(t, store.HardDelete)
	ctx := context.Background()
	if _, err := backfill.Run(ctx, api, st, backfill.Options{PageSize: 50}); err != nil {
		t.Fatal(err)
	}
	users := in.Users()
	sort.Slice(users, func(i, j int) bool { return users[i].CreatedAt < users[j].CreatedAt })
	src := &shifting{Client: api, in: in}
	for i := range 3 {
		src.listed = append(src.listed, users[i].ID)
		src.later = append(src.later, users[190+i].ID)
	}
	rep, err := backfill.Reconcile(ctx, src, st, backfill.ReconcileOptions{PageSize: 20, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.InClerk >= 197 {
		t.Fatalf("the listing saw %d users: the pages did not shift, the test proves nothing", rep.InClerk)
	}
	var gone []string
	for _, d := range rep.Drift {
		if d.Kind == backfill.Gone && d.Repaired {
			gone = append(gone, d.UserID)
		}
	}
	want := []string{users[190].ID, users[191].ID, users[192].ID}
	sort.Strings(gone)
	sort.Strings(want)
	if fmt.Sprint(gone) != fmt.Sprint(want) || len(rep.Drift) != 3 {
		t.Fatalf("drift %+v; want exactly %v (deleted before they were listed) gone and repaired", rep.Drift, want)
	}
	// The users deleted after they were listed are found by the next run.
	rep, err = backfill.Reconcile(ctx, api, st, backfill.ReconcileOptions{Apply: true})
	if err != nil || rep.Count(backfill.Gone) != 3 || len(rep.Drift) != 3 {
		t.Fatalf("second run: %+v, %v; want the other 3 gone", rep.Drift, err)
	}
	wantTable(t, st, in)
}

// A user that the table refuses is counted as failed and named, and the
// rest of its page is applied: on PostgreSQL the page's one statement is
// refused as a whole, and the users are then applied one at a time.
func TestBackfillCountsARefusedUser(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			in, api := clerkWith(t, 40, fakeclerk.APIOptions{})
			st, exec := open(t, store.HardDelete)
			refuse := `ALTER TABLE "User" ADD CONSTRAINT refused CHECK ("firstName" <> 'Refused')`
			if name == "sqlite" {
				refuse = `CREATE TRIGGER refused BEFORE INSERT ON "User" WHEN NEW."firstName" = 'Refused' BEGIN SELECT RAISE(ABORT, 'refused'); END`
			}
			if err := exec(refuse); err != nil {
				t.Fatal(err)
			}
			users := in.Users()
			same := "Refused"
			if _, err := in.Update(users[0].ID, fakeclerk.Changes{FirstName: fakeclerk.Field[string]{Set: true, Value: &same}}); err != nil {
				t.Fatal(err)
			}
			p, err := backfill.Run(context.Background(), api, st, backfill.Options{PageSize: 500})
			if err != nil || p.Applied != 39 || p.Failed != 1 || len(p.Failures) != 1 || p.Pages != 1 {
				t.Fatalf("%+v, %v; want 39 applied and 1 failed in one page", p, err)
			}
			if f := p.Failures[0]; f.UserID != users[0].ID || !errors.Is(f.Err, store.ErrPermanent) {
				t.Fatalf("failure %v, want %s, refused by the database", f, users[0].ID)
			}
			if rows := storetest.MustUsers(t, st); len(rows) != 39 {
				t.Fatalf("%d rows, want 39", len(rows))
			}
		})
	}
}
