package store

import (
	"context"
	"fmt"
	"sync"
)

// Queue hands requests to committer goroutines, which take every request
// waiting at that moment (up to a maximum) as one batch: the drivers'
// group commit. With one request in flight a batch is that request alone,
// so nothing waits for company.
type Queue[R any] struct {
	// mu guards closed; senders hold it for reading while they queue, so
	// that Close never closes the channel under a sender.
	mu     sync.RWMutex
	closed bool
	ch     chan R
	wg     sync.WaitGroup
}

// NewQueue starts workers goroutines that call commit with batches of at
// most maxBatch requests.
func NewQueue[R any](workers, maxBatch int, commit func(batch []R)) *Queue[R] {
	q := &Queue[R]{ch: make(chan R, maxBatch)}
	for range workers {
		q.wg.Go(func() {
			batch := make([]R, 0, maxBatch)
			for first := range q.ch {
				batch = append(batch[:0], first)
			fill:
				for len(batch) < maxBatch {
					select {
					case r, ok := <-q.ch:
						if !ok {
							break fill
						}
						batch = append(batch, r)
					default:
						break fill
					}
				}
				commit(batch)
			}
		})
	}
	return q
}

// Put queues r. It fails with ErrUnavailable when the queue is closed or
// ctx ends first.
func (q *Queue[R]) Put(ctx context.Context, r R) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return fmt.Errorf("queue: %w: the store is closed", ErrUnavailable)
	}
	select {
	case q.ch <- r:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue: %w: %w", ErrUnavailable, ctx.Err())
	}
}

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
