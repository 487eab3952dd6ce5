package postgres

import (
	"context"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The statements of retention: the oldest rows first, at most a batch,
// through the retention indexes (clerk_sync_deliveries_kept…). SKIP LOCKED leaves rows that a
// delivery or another replica's prune holds to them.
const (
	sqlPrunePayloads = `
		WITH old AS (
			SELECT svix_id FROM clerk_sync_deliveries
			WHERE octet_length(payload) > 0 AND received_at < $1
			ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE clerk_sync_deliveries d SET payload = '' FROM old WHERE d.svix_id = old.svix_id`
	sqlPruneDeliveries = `
		WITH old AS (
			SELECT svix_id FROM clerk_sync_deliveries
			WHERE received_at < $1
			ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		DELETE FROM clerk_sync_deliveries d USING old WHERE d.svix_id = old.svix_id`
)

// Prune implements store.Pruner: each kind in a statement, and so a
// transaction, of its own.
func (s *Store) Prune(ctx context.Context, c store.Cutoffs, limit int) (store.Pruned, error) {
	var p store.Pruned
	run := func(q string, before time.Time) (int, error) {
		tag, err := s.pool.Exec(ctx, q, before, limit)
		if err != nil {
			return 0, classify("prune the ledger", err)
		}
		return int(tag.RowsAffected()), nil
	}
	var err error
	if !c.IDs.IsZero() {
		if p.Deliveries, err = run(sqlPruneDeliveries, c.IDs); err != nil {
			return p, err
		}
	}
	if !c.Payloads.IsZero() {
		if p.Payloads, err = run(sqlPrunePayloads, c.Payloads); err != nil {
			return p, err
		}
	}
	return p, nil
}
