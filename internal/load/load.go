// Package load fires pre-signed webhook deliveries at a URL from several
// concurrent senders and measures what came back: the benchmark and
// mockclerk use it.
package load

import (
	"context"
	"iter"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// Options tune a run.
type Options struct {
	// Concurrency is the number of senders, each with its own keep-alive
	// connection; 1 when 0.
	Concurrency int
	// Rate, when positive, caps how many jobs start per second.
	Rate float64
}

// Stats sum up a run.
type Stats struct {
	Sent      int            // requests attempted
	Status    map[int]int    // answers per HTTP status
	Outcomes  map[string]int // answers per JSON "outcome"; answers without one are not counted
	Errors    int            // requests without a complete answer (no status, or a cut-off body)
	FirstErr  error          // the first of those errors, for the report
	Elapsed   time.Duration
	PerSecond float64 // Sent / Elapsed
	// Latency percentiles over every request, answered or not.
	P50, P90, P99, Max time.Duration
}

// Non2xx counts the answers whose status is not 2xx.
func (s Stats) Non2xx() int {
	n := 0
	for code, c := range s.Status {
		if code < 200 || code > 299 {
			n += c
		}
	}
	return n
}

// Result is what one job saw: the last answer to its delivery.
type Result struct {
	Latency time.Duration
	Status  int // 0 when no answer came back
	Outcome string
	Err     error
}

// Client returns an HTTP client for senders concurrent requests to one
// host, each keeping its connection alive.
func Client(senders int, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The default keeps only 2 idle connections per host: the other senders
	// would dial a new connection for every request.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = senders, senders
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Run POSTs every delivery to url, in slice order, from opts.Concurrency
// senders sharing one work channel, and returns the stats. When ctx ends it
// stops sending and returns the stats so far with ctx's error.
func Run(ctx context.Context, url string, deliveries []fake.Delivery, opts Options) (Stats, error) {
	senders := max(opts.Concurrency, 1)
	client := Client(senders, 30*time.Second)
	defer client.CloseIdleConnections()
	return Each(ctx, slices.Values(deliveries), opts, func(ctx context.Context, d fake.Delivery) Result {
		return send(ctx, client, url, d)
	})
}

// Each runs do for every item of items from opts.Concurrency workers,
// starting at most opts.Rate jobs per second when it is set, and sums up
// their results. Items are drawn one at a time, as a worker comes free, so
// a generated stream is never held whole in memory; none is drawn once ctx
// ends.
func Each[T any](ctx context.Context, items iter.Seq[T], opts Options, do func(context.Context, T) Result) (Stats, error) {
	workers := max(opts.Concurrency, 1)
	work := make(chan T)
	tallies := make([]tally, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for item := range work {
				tallies[w].add(do(ctx, item))
			}
		})
	}
	var tick *time.Ticker
	if every := time.Duration(float64(time.Second) / opts.Rate); opts.Rate > 0 && every > 0 {
		tick = time.NewTicker(every)
		defer tick.Stop()
	}
	first := true
	for item := range items {
		if !first && tick != nil {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		first = false
		select {
		case work <- item:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return summarize(tallies, time.Since(start)), ctx.Err()
}

// Shuffle yields the items of seq in random order, drawn from a window of
// the next size items: a stream of at most size items comes out uniformly
// shuffled, a longer one mixed within the window, in bounded memory.
func Shuffle[T any](seq iter.Seq[T], size int, r *rand.Rand) iter.Seq[T] {
	return func(yield func(T) bool) {
		var window []T
		for v := range seq {
			if len(window) < size {
				window = append(window, v)
				continue
			}
			i := r.IntN(len(window))
			out := window[i]
			window[i] = v
			if !yield(out) {
				return
			}
		}
		r.Shuffle(len(window), func(i, j int) { window[i], window[j] = window[j], window[i] })
		for _, v := range window {
			if !yield(v) {
				return
			}
		}
	}
}

// send makes one request and reads the whole answer, so that the
// connection goes back to the pool.
func send(ctx context.Context, client *http.Client, url string, d fake.Delivery) Result {
	resp, err := fake.Post(ctx, client, url, d)
	return Result{Latency: resp.Latency, Status: resp.Status, Outcome: resp.Outcome, Err: err}
}

// tally is one worker's results so far: counts, and the latencies (8
// bytes a request) for exact percentiles.
type tally struct {
	status   map[int]int
	outcomes map[string]int
	errors   int
	firstErr error
	latency  []time.Duration
}

func (t *tally) add(r Result) {
	if t.status == nil {
		t.status, t.outcomes = map[int]int{}, map[string]int{}
	}
	t.latency = append(t.latency, r.Latency)
	if r.Status != 0 {
		t.status[r.Status]++
	}
	if r.Outcome != "" {
		t.outcomes[r.Outcome]++
	}
	if r.Err != nil {
		t.errors++
		if t.firstErr == nil {
			t.firstErr = r.Err
		}
	}
}

func summarize(tallies []tally, elapsed time.Duration) Stats {
	s := Stats{Status: map[int]int{}, Outcomes: map[string]int{}, Elapsed: elapsed}
	n := 0
	for _, t := range tallies {
		n += len(t.latency)
	}
	lat := make([]time.Duration, 0, n)
	for _, t := range tallies {
		lat = append(lat, t.latency...)
		for code, n := range t.status {
			s.Status[code] += n
		}
		for o, n := range t.outcomes {
			s.Outcomes[o] += n
		}
		s.Errors += t.errors
		if s.FirstErr == nil {
			s.FirstErr = t.firstErr
		}
	}
	s.Sent = len(lat)
	if elapsed > 0 {
		s.PerSecond = float64(s.Sent) / elapsed.Seconds()
	}
	slices.Sort(lat)
	s.P50, s.P90, s.P99 = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99)
	if len(lat) > 0 {
		s.Max = lat[len(lat)-1]
	}
	return s
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n), 1-based
	return sorted[max(rank, 1)-1]
}
