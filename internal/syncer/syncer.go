// Package syncer applies verified Clerk deliveries to a store: it decodes
// the body, decides what the event asks for, and lets the store enforce the
// ledger, version and tombstone rules in one transaction.
package syncer

import (
	"context"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Result is what one delivery did.
type Result struct {
	Outcome   store.Outcome
	EventType string
	// ID is the Clerk id of the entity the event is about (a user, an
	// organization or a membership); UserID the user whose data it holds.
	ID     string
	UserID string
	// Err explains a Rejected or Failed outcome, or is the store's error
	// (wrapping store.ErrUnavailable) when nothing was recorded.
	Err error
}

// Syncer applies deliveries to one store.
type Syncer struct {
	store store.Store
}

// New returns a Syncer writing to st.
func New(st store.Store) *Syncer {
	return &Syncer{store: st}
}

// Apply handles one verified delivery: svixID is its svix-id header and
// body the raw bytes that were verified.
func (s *Syncer) Apply(ctx context.Context, svixID string, body []byte) Result {
	if body == nil {
		body = []byte{} // an empty body is kept as one: the ledger's payload is never NULL
	}
	d := store.Delivery{SvixID: svixID, ReceivedAt: time.Now().UTC(), Payload: body}
	ev, change, err := clerk.Parse(body)
	if ev != nil {
		d.Type = ev.Type
	}
	res := Result{EventType: d.Type}
	if change != nil {
		d.UserID = change.UserID()
		res.ID, res.UserID = change.ID, d.UserID
	}
	switch {
	case err != nil:
		res.Outcome, res.Err = s.record(ctx, d, store.Rejected, err)
	case change == nil:
		res.Outcome, res.Err = s.record(ctx, d, store.Ignored, nil)
	default:
		res.Outcome, res.Err = s.store.Apply(ctx, d, *change)
	}
	return res
}

// record stores a delivery that changes no user. A rejection keeps its
// reason as Err, unless the svix-id turns out to be done already.
func (s *Syncer) record(ctx context.Context, d store.Delivery, o store.Outcome, reason error) (store.Outcome, error) {
	if d.Type == "" {
		d.Type = "unknown"
	}
	msg := ""
	if reason != nil {
		msg = reason.Error()
	}
	got, err := s.store.Record(ctx, d, o, msg)
	if err != nil {
		return "", err
	}
	if got == store.Duplicate {
		return got, nil
	}
	return got, reason
}
