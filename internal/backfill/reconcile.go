package backfill

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Table is what reconcile reads of the database; every store.Store is one.
type Table interface {
	Target
	Users(ctx context.Context) ([]store.User, error)
	States(ctx context.Context, kind store.Kind) ([]store.State, error)
}

// Kinds of drift.
const (
	Missing = "missing" // in Clerk, not in the table
	Behind  = "behind"  // the table's version is older than Clerk's updated_at
	Gone    = "gone"    // in the table, and Clerk answers 404 for it
)

// Drift is one user whose row differs from Clerk.
type Drift struct {
	Kind     string `json:"kind"`
	UserID   string `json:"user_id"`
	Ours     int64  `json:"our_version,omitempty"`   // Unix ms; 0 when the table has no version
	Clerks   int64  `json:"clerk_version,omitempty"` // Unix ms; 0 when gone
	Repaired bool   `json:"repaired"`
	Error    string `json:"error,omitempty"`
}

// Report is the outcome of a reconcile.
type Report struct {
	Drift   []Drift
	InClerk int // users listed by Clerk
	InTable int // rows of the table
	Elapsed time.Duration
}

// Count returns how many drifts are of kind.
func (r Report) Count(kind string) int {
	n := 0
	for _, d := range r.Drift {
		if d.Kind == kind {
			n++
		}
	}
	return n
}

// Unrepaired counts the drifts that remain.
func (r Report) Unrepaired() int {
	n := 0
	for _, d := range r.Drift {
		if !d.Repaired {
			n++
		}
	}
	return n
}

// ReconcileOptions tune a reconcile.
type ReconcileOptions struct {
	// Apply repairs the drift: missing and behind users are applied as a
	// backfill applies them, gone users are deleted and tombstoned.
	Apply    bool
	PageSize int
	// Now dates the deletion of a gone user (its version); time.Now when nil.
	Now func() time.Time
}

// Reconcile compares the table with Clerk. A user is gone only when Clerk
// answers 404 for it by id: a listing is not a snapshot, and a user that
// moved between pages is not deleted for it.
func Reconcile(ctx context.Context, src Source, dst Table, opts ReconcileOptions) (Report, error) {
	start := time.Now()
	if opts.PageSize <= 0 {
		opts.PageSize = clerkapi.PageSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var rep Report
	rows, err := dst.Users(ctx)
	if err != nil {
		return rep, err
	}
	states, err := dst.States(ctx, store.KindUser)
	if err != nil {
		return rep, err
	}
	rep.InTable = len(rows)
	version := make(map[string]store.State, len(states))
	for _, s := range states {
		version[s.ID] = s
	}
	inTable := make(map[string]bool, len(rows))
	for _, r := range rows {
		if !r.Deleted {
			inTable[r.ClerkID] = true
		}
	}
	listed := make(map[string]bool, len(rows))
	err = src.EachPage(ctx, clerkapi.Cursor{}, opts.PageSize, func(page clerkapi.Page, _ clerkapi.Cursor) error {
		var repair clerkapi.Page
		for _, raw := range page {
			id, clerkVersion := gjson.GetBytes(raw, "id").Str, gjson.GetBytes(raw, "updated_at").Int()
			listed[id] = true
			rep.InClerk++
			st, known := version[id]
			var d Drift
			switch {
			case known && st.Deleted:
				continue // deleted here after Clerk listed it: the tombstone is final
			case !inTable[id]:
				d = Drift{Kind: Missing, UserID: id, Ours: st.Version, Clerks: clerkVersion}
			case st.Version < clerkVersion:
				d = Drift{Kind: Behind, UserID: id, Ours: st.Version, Clerks: clerkVersion}
			default:
				continue
			}
			rep.Drift = append(rep.Drift, d)
			repair = append(repair, raw)
		}
		if opts.Apply && len(repair) > 0 {
			return rep.repair(ctx, dst, repair)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	if err := rep.findGone(ctx, src, dst, inTable, listed, version, opts); err != nil {
		return rep, err
	}
	sort.SliceStable(rep.Drift, func(i, j int) bool { return rep.Drift[i].Kind < rep.Drift[j].Kind })
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// repair applies the raw users of the last drifts and marks them.
func (r *Report) repair(ctx context.Context, dst Target, raws clerkapi.Page) error {
	counts, err := ApplyPage(ctx, dst, raws)
	if err != nil {
		return err
	}
	failed := map[string]error{}
	for _, f := range counts.Failures {
		failed[f.UserID] = f.Err
	}
	for i := len(r.Drift) - len(raws); i < len(r.Drift); i++ {
		d := &r.Drift[i]
		d.Repaired, d.Error = failed[d.UserID] == nil, errText(failed[d.UserID])
	}
	return nil
}

// findGone asks Clerk by id for every row the listing did not show.
func (r *Report) findGone(ctx context.Context, src Source, dst Target, inTable, listed map[string]bool, version map[string]store.State, opts ReconcileOptions) error {
	var candidates []string
	for id := range inTable {
		if !listed[id] {
			candidates = append(candidates, id)
		}
	}
	sort.Strings(candidates)
	for _, id := range candidates {
		raw, err := src.User(ctx, id)
		switch {
		case errors.Is(err, clerkapi.ErrNotFound):
			d := Drift{Kind: Gone, UserID: id, Ours: version[id].Version}
			if opts.Apply {
				c := store.Change{Kind: store.KindUser, ID: id, Deleted: true, Version: max(opts.Now().UnixMilli(), version[id].Version+1)}
				_, err := dst.Apply(ctx, store.Delivery{Type: "reconcile", UserID: id, ReceivedAt: opts.Now().UTC()}, c)
				if errors.Is(err, store.ErrUnavailable) {
					return err
				}
				d.Repaired, d.Error = err == nil, errText(err)
			}
			r.Drift = append(r.Drift, d)
		case err != nil:
			return fmt.Errorf("ask Clerk for %s: %w", id, err)
		default:
			// Alive: it moved between pages while the listing ran.
			if v := gjson.GetBytes(raw, "updated_at").Int(); version[id].Version < v {
				r.Drift = append(r.Drift, Drift{Kind: Behind, UserID: id, Ours: version[id].Version, Clerks: v})
				if opts.Apply {
					if err := r.repair(ctx, dst, clerkapi.Page{raw}); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
