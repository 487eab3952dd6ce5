package backfill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// syncBuffer is a log that a test reads while a goroutine writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runPeriodic runs p until the test ends and returns its runs as they end.
func runPeriodic(t *testing.T, p *backfill.Periodic) <-chan backfill.Summary {
	runs := make(chan backfill.Summary, 10)
	p.OnRun(func(s backfill.Summary) { runs <- s })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return runs
}

func nextRun(t *testing.T, runs <-chan backfill.Summary) backfill.Summary {
	t.Helper()
	select {
	case s := <-runs:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("no reconcile ran")
	}
	panic("unreachable")
}

// The receiver's background reconcile repairs the table every period,
// logs a line per run, and remembers the last run in the database: a
// restarted receiver waits out the rest of the period instead of
// reconciling again at once.
func TestPeriodicReconcile(t *testing.T) {
	in, api := clerkWith(t, 40, fakeclerk.APIOptions{})
	st, _ := storetest.SQLite(t, store.HardDelete)
	var log syncBuffer
	p := backfill.NewPeriodic(api, st, 50*time.Millisecond, slog.New(slog.NewTextHandler(&log, nil)))
	if _, ok := p.Last(); ok {
		t.Fatal("a last run before any ran")
	}
	runs := runPeriodic(t, p)
	if s := nextRun(t, runs); s.Missing != 40 || s.Repaired != 40 || s.InClerk != 40 || s.Error != "" {
		t.Fatalf("first run: %+v; want 40 missing users repaired", s)
	}
	gone := in.Users()[3].ID
	if _, err := in.Delete(gone); err != nil {
		t.Fatal(err)
	}
	for {
		s := nextRun(t, runs)
		if s.Gone == 1 && s.Repaired == 1 {
			break
		}
		if s.Drift() != 0 {
			t.Fatalf("a run after one deletion: %+v", s)
		}
	}
	wantTable(t, st, in)
	if got := log.String(); !strings.Contains(got, "msg=reconcile in_clerk=40 rows=0 missing=40 behind=0 gone=0 repaired=40") ||
		!strings.Contains(got, "gone=1 repaired=1") {
		t.Fatalf("the log does not show each run:\n%s", got)
	}
	last, ok := p.Last()
	if !ok || last.Gone != 1 {
		t.Fatalf("Last: %+v %v", last, ok)
	}

	again := backfill.NewPeriodic(api, st, time.Hour, slog.New(slog.DiscardHandler))
	runs = runPeriodic(t, again)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, ok := again.Last(); ok {
			if s.At.Before(last.At) {
				t.Fatalf("after a restart Last is %+v, older than the last run %+v", s, last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a restarted Periodic does not know the last run")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case s := <-runs:
		t.Fatalf("a restart reconciled again at once: %+v", s)
	case <-time.After(300 * time.Millisecond):
	}
}

// A run that fails is logged with its error and retried sooner than the
// period.
func TestPeriodicReconcileFailure(t *testing.T) {
	srv := httptest.NewServer(fakeclerk.NewAPI(fakeclerk.NewInstance(), fakeclerk.APIOptions{Key: key, Fail: 1}))
	t.Cleanup(srv.Close)
	api, err := clerkapi.New(key, srv.URL, clerkapi.Options{Rate: 1000, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := storetest.SQLite(t, store.HardDelete)
	var log syncBuffer
	p := backfill.NewPeriodic(api, st, time.Hour, slog.New(slog.NewTextHandler(&log, nil)))
	s := nextRun(t, runPeriodic(t, p))
	if s.Error == "" || !strings.Contains(log.String(), "reconcile failed") {
		t.Fatalf("run against a failing API: %+v\n%s", s, log.String())
	}
	if want := s.At.Add(backfill.RetryFailed).Format(time.RFC3339); !strings.Contains(log.String(), "next="+want) {
		t.Fatalf("the next try is not %s:\n%s", want, log.String())
	}
}

// Replicas on one database space their runs: a run another replica made
// meanwhile (here written to the database by hand) moves the next one a
// period after it.
func TestPeriodicReconcileAdoptsAnotherReplicasRun(t *testing.T) {
	_, api := clerkWith(t, 10, fakeclerk.APIOptions{})
	st, _ := storetest.SQLite(t, store.HardDelete)
	const every = time.Second
	p := backfill.NewPeriodic(api, st, every, slog.New(slog.DiscardHandler))
	runs := runPeriodic(t, p)
	first := nextRun(t, runs)
	time.Sleep(every / 2)
	other, _ := json.Marshal(backfill.Summary{At: time.Now(), InClerk: 10, InTable: 10})
	if err := st.SaveJob(context.Background(), backfill.PeriodicJob, other); err != nil {
		t.Fatal(err)
	}
	// Timers fire late, never early: a lower bound cannot fail by chance.
	least := every * 14 / 10
	if second := nextRun(t, runs); second.At.Sub(first.At) < least {
		t.Fatalf("the second run began %s after the first; want a period after the other replica's, %s after the first at least",
			second.At.Sub(first.At), least)
	}
}
