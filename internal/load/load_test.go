package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// deliveries signs n events; every fifth is sent twice.
func deliveries(t *testing.T, n int) []fake.Delivery {
	t.Helper()
	s, err := fake.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	g := fake.New(1, time.Unix(1_700_000_000, 0))
	var ds []fake.Delivery
	for i := range n {
		d, err := g.Deliver(s, g.Created(g.NewUser()), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
		if i%5 == 0 {
			ds = append(ds, d)
		}
	}
	return ds
}

// receiver answers like clerk-sync: applied the first time, duplicate
// after; it refuses one svix-id with 503 and drops the connection of
// another without answering.
type receiver struct {
	refuse, drop string

	mu      sync.Mutex
	seen    map[string]bool
	dials   int
	active  int
	maxSeen int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("svix-id")
	rc.mu.Lock()
	rc.active++
	rc.maxSeen = max(rc.maxSeen, rc.active)
	dup := rc.seen[id]
	rc.seen[id] = true
	rc.mu.Unlock()
	defer func() {
		rc.mu.Lock()
		rc.active--
		rc.mu.Unlock()
	}()
	switch {
	case id == rc.drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case id == rc.refuse:
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"outcome": "failed"})
		return
	}
	outcome := "applied"
	if dup {
		outcome = "duplicate"
	}
	json.NewEncoder(w).Encode(map[string]string{"outcome": outcome, "svix_id": id})
}

func TestRun(t *testing.T) {
	ds := deliveries(t, 500) // 600 requests, 100 of them repeats; ds[3] and ds[4] are sent once
	const senders = 8
	rc := &receiver{refuse: ds[3].ID, drop: ds[4].ID, seen: map[string]bool{}}
	srv := httptest.NewUnstartedServer(rc)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			rc.mu.Lock()
			rc.dials++
			rc.mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()

	st, err := Run(context.Background(), srv.URL, ds, Options{Concurrency: senders})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != len(ds) {
		t.Errorf("sent %d, want %d", st.Sent, len(ds))
	}
	if st.Status[200] != len(ds)-2 || st.Status[503] != 1 || st.Non2xx() != 1 {
		t.Errorf("status counts %v, want %d×200 and 1×503", st.Status, len(ds)-2)
	}
	if st.Outcomes["applied"] != 498 || st.Outcomes["duplicate"] != 100 || st.Outcomes["failed"] != 1 {
		t.Errorf("outcomes %v, want 498 applied, 100 duplicate, 1 failed", st.Outcomes)
	}
	if st.Errors != 1 || st.FirstErr == nil {
		t.Errorf("errors %d (%v), want 1 for the dropped connection", st.Errors, st.FirstErr)
	}
	if !(st.P50 <= st.P90 && st.P90 <= st.P99 && st.P99 <= st.Max && st.Max > 0) {
		t.Errorf("latencies out of order: p50 %v p90 %v p99 %v max %v", st.P50, st.P90, st.P99, st.Max)
	}
	if st.PerSecond <= 0 {
		t.Errorf("deliveries/s = %v", st.PerSecond)
	}
	// Keep-alive: about one connection per sender. A few more are normal
	// (a dial started while another connection came free is kept), but
	// with Go's default of 2 idle connections per host this run dials
	// hundreds.
	if rc.dials > 3*senders {
		t.Errorf("%d connections for %d senders: connections are not reused", rc.dials, senders)
	}
	if rc.maxSeen > senders {
		t.Errorf("%d requests at once, want at most %d", rc.maxSeen, senders)
	}
}

func TestRunCancelled(t *testing.T) {
	ds := deliveries(t, 50)
	srv := httptest.NewServer(&receiver{seen: map[string]bool{}})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, err := Run(ctx, srv.URL, ds, Options{Concurrency: 4})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st.Status[200] != 0 {
		t.Errorf("%d answered after cancel, want 0", st.Status[200])
	}
	if st.Sent == len(ds) {
		t.Errorf("all %d sent after cancel", st.Sent)
	}

	// Cancelled part-way: what was answered counts, the rest is not sent.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var answered atomic.Int32
	mid := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answered.Add(1) == 5 {
			cancel()
		}
		fmt.Fprintln(w, `{"outcome":"applied"}`)
	}))
	defer mid.Close()
	st, err = Run(ctx, mid.URL, ds, Options{Concurrency: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st.Status[200] < 4 || st.Sent >= len(ds) {
		t.Errorf("%d answered of %d sent, want the first few answered and the rest not sent", st.Status[200], st.Sent)
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i))
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    int
		want time.Duration
	}{
		{lat, 50, 50}, {lat, 90, 90}, {lat, 99, 99}, {lat, 100, 100},
		{lat[:1], 50, 1}, {lat[:1], 99, 1}, {lat[:3], 50, 2}, {nil, 99, 0},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(n=%d, %d) = %v, want %v", len(tc.in), tc.p, got, tc.want)
		}
	}
}

// Each draws items only as workers come free: an endless stream is sent
// until ctx ends, and counted.
func TestEachStreams(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drawn := 0
	endless := func(yield func(int) bool) {
		for i := 0; ; i++ {
			drawn++
			if !yield(i) {
				return
			}
		}
	}
	st, err := Each(ctx, endless, Options{Concurrency: 4}, func(_ context.Context, i int) Result {
		if i == 1000 {
			cancel()
		}
		return Result{Status: 200, Outcome: "applied", Latency: time.Duration(i)}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st.Sent < 1000 || st.Sent != st.Status[200] || st.Sent != st.Outcomes["applied"] || drawn > st.Sent+2 {
		t.Errorf("sent %d, %v, %v; %d drawn", st.Sent, st.Status, st.Outcomes, drawn)
	}
}

// Shuffle permutes a stream that fits its window uniformly, and a longer
// one within the window, never holding more than the window.
func TestShuffle(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ n, window int }{{0, 10}, {1, 10}, {10, 10}, {1000, 10}, {1000, 2000}} {
		got := slices.Collect(Shuffle(slices.Values(seq(tc.n)), tc.window, r))
		if !slices.Equal(slices.Sorted(slices.Values(got)), seq(tc.n)) {
			t.Fatalf("n=%d window=%d: not a permutation: %v", tc.n, tc.window, got)
		}
		if tc.n >= 10 && slices.Equal(got, seq(tc.n)) {
			t.Errorf("n=%d window=%d: not shuffled", tc.n, tc.window)
		}
		for i, v := range got {
			if v > i+tc.window {
				t.Fatalf("n=%d window=%d: %d came out at %d, past the window", tc.n, tc.window, v, i)
			}
		}
	}
	// The first 100 of an endless stream come out.
	endless := func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	}
	n := 0
	for range Shuffle(endless, 10, r) {
		if n++; n == 100 {
			break
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
