// Package load fires pre-signed webhook deliveries at a URL from several
// concurrent senders and measures what came back: the benchmark and
// mockclerk use it.
package load

import (
	"context"
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
	return Jobs(ctx, len(deliveries), opts, func(ctx context.Context, i int) Result {
		return send(ctx, client, url, deliveries[i])
	})
}

// Jobs runs do for 0..n-1 from opts.Concurrency workers, starting at most
// opts.Rate jobs per second when it is set, and sums up their results.
func Jobs(ctx context.Context, n int, opts Options, do func(ctx context.Context, i int) Result) (Stats, error) {
	workers := max(opts.Concurrency, 1)
	work := make(chan int)
	results := make([][]Result, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := range work {
				results[w] = append(results[w], do(ctx, i))
			}
		})
	}
	var tick *time.Ticker
	if every := time.Duration(float64(time.Second) / opts.Rate); opts.Rate > 0 && every > 0 {
		tick = time.NewTicker(every)
		defer tick.Stop()
	}
feed:
	for i := range n {
		if tick != nil && i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return summarize(slices.Concat(results...), time.Since(start)), ctx.Err()
}

// send makes one request and reads the whole answer, so that the
// connection goes back to the pool.
func send(ctx context.Context, client *http.Client, url string, d fake.Delivery) Result {
	resp, err := fake.Post(ctx, client, url, d)
	return Result{Latency: resp.Latency, Status: resp.Status, Outcome: resp.Outcome, Err: err}
}

func summarize(rs []Result, elapsed time.Duration) Stats {
	s := Stats{Sent: len(rs), Status: map[int]int{}, Outcomes: map[string]int{}, Elapsed: elapsed}
	lat := make([]time.Duration, 0, len(rs))
	for _, r := range rs {
		lat = append(lat, r.Latency)
		if r.Status != 0 {
			s.Status[r.Status]++
		}
		if r.Outcome != "" {
			s.Outcomes[r.Outcome]++
		}
		if r.Err != nil {
			s.Errors++
			if s.FirstErr == nil {
				s.FirstErr = r.Err
			}
		}
	}
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
