package replay

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// ledger is a real store (SQLite, which keeps times to the millisecond)
// holding one delivery at each of times, newest first: msg_0 at times[0]
// and so on, failed when failed(i), else ignored.
func ledger(t *testing.T, times []time.Time, failed func(i int) bool) store.Store {
	t.Helper()
	st, _ := storetest.SQLite(t, store.HardDelete)
	for i, at := range times {
		o := store.Ignored
		if failed(i) {
			o = store.Failed
		}
		d := store.Delivery{SvixID: fmt.Sprint("msg_", i), Type: "session.created", ReceivedAt: at, Payload: []byte(`{}`)}
		if _, err := st.Record(context.Background(), d, o, ""); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestFailed: across more than one page, only failed deliveries at or
// after since, oldest first.
func TestFailed(t *testing.T) {
	now := time.Now().Truncate(time.Millisecond)
	n := 2*historyPage + 7
	times := make([]time.Time, n)
	for i := range times { // newest first, one a second
		times[i] = now.Add(-time.Duration(i) * time.Second)
	}
	l := ledger(t, times, func(i int) bool { return i%3 == 0 })
	for _, tc := range []struct {
		name  string
		since time.Time
		want  int // the oldest failed delivery's index
	}{
		{"all", time.Time{}, n - 1 - (n-1)%3},
		{"since", now.Add(-time.Duration(historyPage+10) * time.Second), historyPage + 10}, // a multiple of 3
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Failed(context.Background(), l, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want/3+1 {
				t.Fatalf("%d failed deliveries, want %d", len(got), tc.want/3+1)
			}
			if first, last := got[0].SvixID, got[len(got)-1].SvixID; first != fmt.Sprint("msg_", tc.want) || last != "msg_0" {
				t.Errorf("from %s to %s, want from msg_%d to msg_0", first, last, tc.want)
			}
		})
	}
}

// TestFailedWithinAMillisecond: more deliveries in one millisecond than a
// page holds, and pages that end inside a millisecond, lose none and read
// none twice.
func TestFailedWithinAMillisecond(t *testing.T) {
	now := time.Now().Truncate(time.Millisecond)
	n := 2*historyPage + 7
	times := make([]time.Time, n)
	for i := range times { // newest first: a page and more in the newest millisecond, then seven to one
		times[i] = now.Add(-time.Duration(max(0, i-historyPage-3)/7) * time.Millisecond)
	}
	got, err := Failed(context.Background(), ledger(t, times, func(int) bool { return true }), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.SvixID] = true
	}
	if len(got) != n || len(ids) != n {
		t.Errorf("%d failed deliveries, %d of them distinct; want %d", len(got), len(ids), n)
	}
}

// TestFailedStuck: a ledger whose history does not move back (a store
// that ignores the svix-id of the position) is an error, not a loop.
func TestFailedStuck(t *testing.T) {
	page := make([]store.Record, historyPage)
	for i := range page {
		page[i] = store.Record{Delivery: store.Delivery{SvixID: fmt.Sprint("msg_", i), ReceivedAt: time.Now().Add(-time.Hour)}}
	}
	if _, err := Failed(context.Background(), stuck(page), time.Time{}); err == nil {
		t.Fatal("no error")
	}
}

// stuck answers every read of the history with the same page.
type stuck []store.Record

func (s stuck) History(context.Context, store.Position, int) ([]store.Record, error) { return s, nil }

func (s stuck) Delivery(context.Context, string) (store.Record, error) {
	return store.Record{}, store.ErrNotFound
}

func TestFind(t *testing.T) {
	st, _ := storetest.SQLite(t, store.HardDelete)
	ctx := context.Background()
	for _, d := range []store.Delivery{
		{SvixID: "msg_kept", Type: "session.created", ReceivedAt: time.Now(), Payload: []byte(`{}`)},
		{SvixID: "msg_pruned", Type: "session.created", ReceivedAt: time.Now(), Payload: []byte{}}, // its body erased
	} {
		if _, err := st.Record(ctx, d, store.Ignored, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Find(ctx, st, "msg_kept"); err != nil {
		t.Errorf("msg_kept: %v", err)
	}
	if _, err := Find(ctx, st, "msg_pruned"); !errors.Is(err, ErrPruned) {
		t.Errorf("msg_pruned: %v, want ErrPruned", err)
	}
	if _, err := Find(ctx, st, "msg_nosuch"); err == nil || errors.Is(err, ErrPruned) {
		t.Errorf("msg_nosuch: %v, want not found", err)
	}
}
