package store

import (
	"context"
	"fmt"
	"sync"
)

// Done is a committer's answer to one request.
type Done struct {
	Outcome Outcome
	Err     error
}

// Queue hands requests to committer goroutines, which take every request
// waiting at that moment (up to a maximum) as one batch: the drivers'
// group commit. With one request in flight a batch is that request alone,
// so nothing waits for company.
type Queue[R any] struct {
	// mu guards closed; senders hold it for reading while they queue, so
	// that Close never closes the channel under a sender.
	mu     sync.RWMutex
	closed bool
	ch     chan call[R]
	wg     sync.WaitGroup
}

type call[R any] struct {
	req  R
	done chan Done
}

// NewQueue starts workers goroutines that call commit with batches of at
// most maxBatch requests; commit answers each request of the batch, in
// order.
func NewQueue[R any](workers, maxBatch int, commit func(batch []R) []Done) *Queue[R] {
	q := &Queue[R]{ch: make(chan call[R], maxBatch)}
	for range workers {
		q.wg.Go(func() {
			calls := make([]call[R], 0, maxBatch)
			reqs := make([]R, 0, maxBatch)
			for first := range q.ch {
				calls = append(calls[:0], first)
			fill:
				for len(calls) < maxBatch {
					select {
					case c, ok := <-q.ch:
						if !ok {
							break fill
						}
						calls = append(calls, c)
					default:
						break fill
					}
				}
				reqs = reqs[:0]
				for _, c := range calls {
					reqs = append(reqs, c.req)
				}
				for i, d := range commit(reqs) {
					calls[i].done <- d
				}
			}
		})
	}
	return q
}

// Do queues r and waits for its answer. Once queued, r is committed or
// refused and answered even if ctx ends, so that the outcome is never
// misreported; Do fails with ErrUnavailable, and nothing done, when the
// queue is closed or ctx ends before r is queued.
func (q *Queue[R]) Do(ctx context.Context, r R) (Outcome, error) {
	c := call[R]{req: r, done: make(chan Done, 1)}
	if err := q.put(ctx, c); err != nil {
		return "", err
	}
	d := <-c.done
	return d.Outcome, d.Err
}

func (q *Queue[R]) put(ctx context.Context, c call[R]) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return fmt.Errorf("queue: %w: the store is closed", ErrUnavailable)
	}
	select {
	case q.ch <- c:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue: %w: %w", ErrUnavailable, ctx.Err())
	}
}

// Waiting says how many requests wait for a worker.
func (q *Queue[R]) Waiting() int { return len(q.ch) }

// Close lets the workers finish the requests already queued, then stops
// them. It is safe to call more than once.
func (q *Queue[R]) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	q.wg.Wait()
}
