package replay

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// ledger holds records newest first, and reads them as a store does.
type ledger []store.Record

func (l ledger) Delivery(_ context.Context, svixID string) (store.Record, error) {
	for _, r := range l {
		if r.SvixID == svixID {
			return r, nil
		}
	}
	return store.Record{}, store.ErrNotFound
}

func (l ledger) History(_ context.Context, before time.Time, limit int) ([]store.Record, error) {
	var page []store.Record
	for _, r := range l {
		if r.ReceivedAt.Before(before) && len(page) < limit {
			page = append(page, r)
		}
	}
	return page, nil
}

// TestFailed: across more than one page, only failed deliveries at or
// after since, oldest first.
func TestFailed(t *testing.T) {
	now := time.Now()
	var l ledger
	n := 2*historyPage + 7
	for i := range n { // newest first, one a second
		o := store.Applied
		if i%3 == 0 {
			o = store.Failed
		}
		l = append(l, store.Record{Delivery: store.Delivery{SvixID: fmt.Sprint("msg_", i), ReceivedAt: now.Add(-time.Duration(i) * time.Second)}, Outcome: o})
	}
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

// msLedger keeps times to the millisecond, as SQLite's ledger does.
type msLedger struct{ ledger }

func (l msLedger) History(_ context.Context, before time.Time, limit int) ([]store.Record, error) {
	var page []store.Record
	for _, r := range l.ledger {
		if r.ReceivedAt.UnixMilli() < before.UnixMilli() && len(page) < limit {
			page = append(page, r)
		}
	}
	return page, nil
}

// TestFailedWithinAMillisecond: a page that ends inside a millisecond
// loses none of that millisecond's deliveries, and reads none twice.
func TestFailedWithinAMillisecond(t *testing.T) {
	now := time.Now().Truncate(time.Millisecond)
	var l ledger
	n := 2*historyPage + 7
	for i := range n { // newest first, seven to a millisecond
		at := now.Add(-time.Duration(i/7) * time.Millisecond)
		l = append(l, store.Record{Delivery: store.Delivery{SvixID: fmt.Sprint("msg_", i), ReceivedAt: at}, Outcome: store.Failed})
	}
	got, err := Failed(context.Background(), msLedger{l}, time.Time{})
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

// TestFailedStuck: a ledger whose history does not move back is an error,
// not a loop.
func TestFailedStuck(t *testing.T) {
	at := time.Now().Add(time.Hour) // ahead of Failed's first "before"
	l := make(ledger, historyPage)
	for i := range l {
		l[i] = store.Record{Delivery: store.Delivery{ReceivedAt: at}}
	}
	if _, err := Failed(context.Background(), stuck{l}, time.Time{}); err == nil {
		t.Fatal("no error")
	}
}

// stuck answers every read of the history with the same page.
type stuck struct{ ledger }

func (s stuck) History(context.Context, time.Time, int) ([]store.Record, error) {
	return s.ledger, nil
}

func TestFind(t *testing.T) {
	l := ledger{
		{Delivery: store.Delivery{SvixID: "msg_kept", Payload: []byte(`{}`)}},
		{Delivery: store.Delivery{SvixID: "msg_pruned"}},
	}
	if _, err := Find(context.Background(), l, "msg_kept"); err != nil {
		t.Errorf("msg_kept: %v", err)
	}
	if _, err := Find(context.Background(), l, "msg_pruned"); !errors.Is(err, ErrPruned) {
		t.Errorf("msg_pruned: %v, want ErrPruned", err)
	}
	if _, err := Find(context.Background(), l, "msg_nosuch"); err == nil || errors.Is(err, ErrPruned) {
		t.Errorf("msg_nosuch: %v, want not found", err)
	}
}
