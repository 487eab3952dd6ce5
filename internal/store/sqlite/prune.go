package sqlite

import (
	"context"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The statements of retention. Each takes the oldest rows first, at most
// a batch, through the retention indexes (clerk_sync_deliveries_kept…).
const (
	sqlPrunePayloads = `
		UPDATE clerk_sync_deliveries SET payload = x''
		WHERE rowid IN (SELECT rowid FROM clerk_sync_deliveries
			WHERE length(payload) > 0 AND received_at < ? ORDER BY received_at LIMIT ?)`
	sqlPruneDeliveries = `
		DELETE FROM clerk_sync_deliveries
		WHERE rowid IN (SELECT rowid FROM clerk_sync_deliveries
			WHERE received_at < ? ORDER BY received_at LIMIT ?)`
	// A deleted user's bodies go at once: they hold the name and email
	// that the delete is meant to erase.
	sqlScrubUser = `UPDATE clerk_sync_deliveries SET payload = x'' WHERE user_id = ? AND length(payload) > 0`
)

// pruneJob is a Prune waiting for the writer; the writer fills in done.
type pruneJob struct {
	cutoffs store.Cutoffs
	limit   int
	done    store.Pruned
}

// Under load, pruning takes the writer for one batch a second at most:
// busyFor is how recently deliveries must have been committed (or be
// waiting) for the writer to count as busy.
const (
	pruneUnderLoad = time.Second
	busyFor        = 50 * time.Millisecond
)

// Prune implements store.Pruner. It runs on the writer, between the
// batches of deliveries, so it never competes with them for the lock.
// While the writer is busy with deliveries it gives way (Yielded), but
// prunes a batch a second all the same, so that it gets on under a load
// that never pauses; when deliveries pause it catches up.
func (s *Store) Prune(ctx context.Context, c store.Cutoffs, limit int) (store.Pruned, error) {
	now := time.Now()
	busy := s.queue.Waiting() > 0 || now.Sub(time.Unix(0, s.writer.delivered.Load())) < busyFor
	if busy && now.Sub(time.Unix(0, s.pruned.Load())) < pruneUnderLoad {
		return store.Pruned{Yielded: true}, nil
	}
	s.pruned.Store(now.UnixNano())
	job := &pruneJob{cutoffs: c, limit: limit}
	if _, err := s.queue.Do(ctx, request{prune: job}); err != nil {
		return store.Pruned{}, err
	}
	return job.done, nil
}

// prune runs a pruneJob inside the batch's transaction.
func (w *writer) prune(ctx context.Context, job *pruneJob) error {
	run := func(q string, before int64) (int, error) {
		res, err := w.conn.ExecContext(ctx, q, before, job.limit)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	var err error
	if c := job.cutoffs.IDs; !c.IsZero() {
		if job.done.Deliveries, err = run(sqlPruneDeliveries, c.UnixMilli()); err != nil {
			return err
		}
	}
	if c := job.cutoffs.Payloads; !c.IsZero() {
		if job.done.Payloads, err = run(sqlPrunePayloads, c.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}
