// Package replay sends deliveries from the ledger to a receiver again:
// their stored bytes, re-signed with a fresh timestamp under the same
// svix-id, as Svix does when it retries or when a message is recovered.
package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Ledger is the part of the store that replay reads.
type Ledger interface {
	Delivery(ctx context.Context, svixID string) (store.Record, error)
	History(ctx context.Context, from store.Position, limit int) ([]store.Record, error)
}

// ErrPruned: the ledger row is there, its body no longer.
var ErrPruned = errors.New("its body is no longer stored: the ledger keeps bodies for --keep-payloads (30 days by default), and erases a user's at once when the user is deleted")

// Find returns the ledger row of svixID with its body.
func Find(ctx context.Context, l Ledger, svixID string) (store.Record, error) {
	rec, err := l.Delivery(ctx, svixID)
	if errors.Is(err, store.ErrNotFound) {
		return rec, fmt.Errorf("the ledger has no delivery %s (refused before the database, or pruned after --keep-ids?)", svixID)
	}
	if err != nil {
		return rec, fmt.Errorf("read delivery %s from the ledger: %w", svixID, err)
	}
	if len(rec.Payload) == 0 {
		return rec, fmt.Errorf("delivery %s: %w", svixID, ErrPruned)
	}
	return rec, nil
}

// historyPage is how many ledger rows Failed reads at a time.
const historyPage = 500

// Failed returns the deliveries that the ledger holds as failed, received
// at or after since (zero: all), oldest first.
func Failed(ctx context.Context, l Ledger, since time.Time) ([]store.Record, error) {
	var failed []store.Record
	from := store.Before(time.Now().Add(time.Minute)) // a clock a little ahead of ours
	for {
		page, err := l.History(ctx, from, historyPage)
		if err != nil {
			return nil, fmt.Errorf("read the ledger: %w", err)
		}
		for _, r := range page {
			if r.ReceivedAt.Before(since) {
				return reverse(failed), nil
			}
			if r.Outcome == store.Failed {
				failed = append(failed, r)
			}
		}
		if len(page) < historyPage {
			return reverse(failed), nil
		}
		last := page[len(page)-1].Position()
		if !last.Older(from) {
			return nil, fmt.Errorf("read the ledger: a page of history did not move back from %s (%s)", from.ReceivedAt.Format(time.RFC3339Nano), from.SvixID)
		}
		from = last
	}
}

func reverse(rs []store.Record) []store.Record {
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}

// Send delivers rec's stored body once, signed now under its own svix-id,
// and returns the receiver's answer.
func Send(ctx context.Context, dv *fake.Deliverer, rec store.Record) fake.Attempt {
	return dv.Deliver(ctx, fake.Delivery{ID: rec.SvixID, Body: rec.Payload})
}
