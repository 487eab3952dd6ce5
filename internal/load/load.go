// Package load fires pre-signed webhook deliveries at a URL from several
// concurrent senders and measures what came back: the benchmark and
// mockclerk use it.
package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	// Timeout bounds one request; 30 s when 0.
	Timeout time.Duration
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

// result is what one sender saw of one request.
type result struct {
	latency time.Duration
	status  int // 0 when the request failed
	outcome string
	err     error
}

// Run POSTs every delivery to url, in slice order, from opts.Concurrency
// senders sharing one work channel, and returns the stats. When ctx ends it
// stops sending and returns the stats so far with ctx's error.
func Run(ctx context.Context, url string, deliveries []fake.Delivery, opts Options) (Stats, error) {
	senders := max(opts.Concurrency, 1)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The default keeps only 2 idle connections per host: the other senders
	// would dial a new connection for every request.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = senders, senders
	client := &http.Client{Transport: tr, Timeout: timeout}
	defer tr.CloseIdleConnections()

	work := make(chan fake.Delivery)
	results := make([][]result, senders)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range senders {
		wg.Go(func() {
			for d := range work {
				results[i] = append(results[i], send(ctx, client, url, d))
			}
		})
	}
feed:
	for _, d := range deliveries {
		select {
		case work <- d:
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
func send(ctx context.Context, client *http.Client, url string, d fake.Delivery) result {
	begin := time.Now()
	req, err := d.Request(ctx, url)
	if err != nil {
		return result{err: fmt.Errorf("build request %s: %w", d.ID, err)}
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{latency: time.Since(begin), err: fmt.Errorf("send %s: %w", d.ID, err)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	r := result{latency: time.Since(begin), status: resp.StatusCode}
	if err != nil {
		r.err = fmt.Errorf("read answer to %s: %w", d.ID, err)
		return r
	}
	var ans struct {
		Outcome string `json:"outcome"`
	}
	if json.Unmarshal(body, &ans) == nil {
		r.outcome = ans.Outcome
	}
	return r
}

func summarize(rs []result, elapsed time.Duration) Stats {
	s := Stats{Sent: len(rs), Status: map[int]int{}, Outcomes: map[string]int{}, Elapsed: elapsed}
	lat := make([]time.Duration, 0, len(rs))
	for _, r := range rs {
		lat = append(lat, r.latency)
		if r.status != 0 {
			s.Status[r.status]++
		}
		if r.outcome != "" {
			s.Outcomes[r.outcome]++
		}
		if r.err != nil {
			s.Errors++
			if s.FirstErr == nil {
				s.FirstErr = r.err
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
