// Package backfill makes the table whole where webhooks cannot: users
// that predate the endpoint, deliveries Svix gave up on, deletions missed
// during an outage. It reads Clerk's Backend API and applies each user
// through the same version and tombstone rules as a webhook, without a
// ledger row (there is no svix-id to record).
package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Source is Clerk's Backend API; *clerkapi.Client is one.
type Source interface {
	CountUsers(ctx context.Context) (int64, error)
	EachPage(ctx context.Context, c clerkapi.Cursor, limit int, fn func(clerkapi.Page, clerkapi.Cursor) error) error
	User(ctx context.Context, id string) (json.RawMessage, error)
}

// Target is the database; every store.Store is one.
type Target interface {
	Apply(ctx context.Context, d store.Delivery, c store.Change) (store.Outcome, error)
	store.Jobs
}

// Counts are what the applied users did.
type Counts struct {
	Applied, Stale, Failed int
	// Failures name the first users that could not be applied, and why.
	Failures []Failure
}

// Failure is a user that could not be applied.
type Failure struct {
	UserID string
	Err    error
}

func (f Failure) String() string { return f.UserID + ": " + f.Err.Error() }

func (c *Counts) add(o Counts) {
	c.Applied += o.Applied
	c.Stale += o.Stale
	c.Failed += o.Failed
	c.Failures = append(c.Failures, o.Failures...)
	if len(c.Failures) > maxFailures {
		c.Failures = c.Failures[:maxFailures]
	}
}

const maxFailures = 10

// Progress is where a backfill stands.
type Progress struct {
	Counts
	Done    int64 // users read from Clerk, this run and the runs it resumes
	Total   int64 // users in Clerk when the run began
	Resumed bool  // the run continues an earlier one
	Elapsed time.Duration
	Pages   int
}

// Options tune a backfill.
type Options struct {
	// Restart ignores where an earlier run stopped.
	Restart bool
	// PageSize is the users per request; 0 means clerkapi.PageSize.
	PageSize int
	// OnPage, when set, hears of every page once it is committed.
	OnPage func(Progress)
}

// job is the state saved after every page.
type job struct {
	Cursor clerkapi.Cursor `json:"cursor"`
	Done   int64           `json:"done"`
	Total  int64           `json:"total,omitempty"` // Clerk's count at the run's start
	At     time.Time       `json:"at,omitzero"`     // when the page was saved
}

// Running is a backfill under way, or stopped before its end, as any
// process that opens the database sees it.
type Running struct {
	Done, Total int64
	At          time.Time // when its last page was saved
}

// ReadRunning reads where the last backfill stands from jobs; ok is false
// when none is under way or stopped midway.
func ReadRunning(ctx context.Context, jobs store.Jobs) (r Running, ok bool, err error) {
	jb, ok, err := readJob(ctx, jobs)
	if err != nil || !ok {
		return r, false, err
	}
	return Running{Done: jb.Done, Total: jb.Total, At: jb.At}, true, nil
}

// readJob reads the saved state of the last backfill; ok is false when
// none is under way or stopped midway.
func readJob(ctx context.Context, jobs store.Jobs) (jb job, ok bool, err error) {
	saved, err := jobs.Job(ctx, jobName)
	if err != nil || saved == nil {
		return jb, false, err
	}
	if err := json.Unmarshal(saved, &jb); err != nil {
		return jb, false, fmt.Errorf("the saved backfill state is damaged (run with --restart): %w", err)
	}
	return jb, true, nil
}

const jobName = "backfill:users"

// ErrStopped: the context ended; the pages applied so far are saved and
// the next run resumes after them.
var ErrStopped = errors.New("backfill stopped")

// Run reads every user from src and applies each to dst. Each page is
// applied as a whole before the next is asked for, then the cursor is
// saved: a run stopped at any point resumes after the last page it
// applied (applying a page twice changes nothing: the versions say so).
// When ctx ends, Run finishes the page in hand and returns ErrStopped.
func Run(ctx context.Context, src Source, dst Target, opts Options) (Progress, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = clerkapi.PageSize
	}
	start := time.Now()
	var (
		p  Progress
		jb job
	)
	if opts.Restart {
		if err := dst.SaveJob(ctx, jobName, nil); err != nil {
			return p, err
		}
	} else {
		var err error
		if jb, p.Resumed, err = readJob(ctx, dst); err != nil {
			return p, err
		}
	}
	total, err := src.CountUsers(ctx)
	if err != nil {
		return p, fmt.Errorf("count users: %w", err)
	}
	p.Total, p.Done = total, jb.Done
	err = src.EachPage(ctx, jb.Cursor, opts.PageSize, func(page clerkapi.Page, next clerkapi.Cursor) error {
		// The page in hand is applied whatever ctx does.
		counts, err := ApplyPage(context.WithoutCancel(ctx), dst, page)
		if err != nil {
			return err
		}
		p.add(counts)
		p.Done += int64(len(page))
		p.Pages++
		jb = job{Cursor: next, Done: p.Done, Total: p.Total, At: time.Now().UTC()}
		state, _ := json.Marshal(jb)
		if err := dst.SaveJob(context.WithoutCancel(ctx), jobName, state); err != nil {
			return err
		}
		p.Elapsed = time.Since(start)
		if opts.OnPage != nil {
			opts.OnPage(p)
		}
		if ctx.Err() != nil {
			return ErrStopped
		}
		return nil
	})
	p.Elapsed = time.Since(start)
	switch {
	case errors.Is(err, ErrStopped), err != nil && ctx.Err() != nil:
		return p, ErrStopped
	case err != nil:
		return p, err
	}
	// Done: the next run reads the whole instance again.
	return p, dst.SaveJob(ctx, jobName, nil)
}

// ApplyPage applies every user of a page through the rules, all at once:
// in one statement where the store can (store.BulkApplier), else
// concurrently so that the store commits them together. A user that
// cannot be parsed or that the database refuses is counted as failed,
// and listed; a database that is unavailable fails the page.
func ApplyPage(ctx context.Context, dst Target, page clerkapi.Page) (Counts, error) {
	cs, counts := parsePage(page)
	if bulk, ok := dst.(store.BulkApplier); ok {
		outcomes, err := bulk.ApplyAll(ctx, cs)
		if err == nil {
			for _, o := range outcomes {
				counts.count(o)
			}
			return counts, nil
		}
		if !errors.Is(err, store.ErrPermanent) {
			return counts, fmt.Errorf("apply a page: %w", err)
		}
		// Some user of the page was refused: one at a time finds which.
	}
	var (
		mu   sync.Mutex
		lost error
		wg   sync.WaitGroup
	)
	now := time.Now().UTC()
	for _, c := range cs {
		wg.Go(func() {
			d := store.Delivery{Type: "backfill", UserID: c.ID, ReceivedAt: now}
			o, err := dst.Apply(ctx, d, c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, store.ErrUnavailable):
				lost = err
			case err != nil:
				counts.fail(c.ID, err)
			default:
				counts.count(o)
			}
		})
	}
	wg.Wait()
	if lost != nil {
		return counts, fmt.Errorf("apply a page: %w", lost)
	}
	return counts, nil
}

// parsePage reads the users of a page as changes; one that cannot be
// parsed is counted as failed, and an id that repeats keeps its newest
// version.
func parsePage(page clerkapi.Page) ([]store.Change, Counts) {
	var counts Counts
	at := make(map[string]int, len(page))
	cs := make([]store.Change, 0, len(page))
	for _, raw := range page {
		c, err := clerk.ParseUser(raw)
		if err != nil {
			counts.fail(idOf(raw), err)
			continue
		}
		switch i, seen := at[c.ID]; {
		case seen && (cs[i].Version < c.Version || cs[i].Version == c.Version && cs[i].Digest < c.Digest):
			cs[i] = *c
		case !seen:
			at[c.ID] = len(cs)
			cs = append(cs, *c)
		}
	}
	return cs, counts
}

// count counts one applied change's outcome.
func (c *Counts) count(o store.Outcome) {
	if o == store.Applied {
		c.Applied++
	} else {
		c.Stale++
	}
}

// fail counts a user that could not be applied, and why.
func (c *Counts) fail(id string, err error) {
	c.Failed++
	c.Failures = append(c.Failures, Failure{id, err})
}

// idOf is the id of a raw user object, for messages.
func idOf(raw json.RawMessage) string {
	var u struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &u) != nil || u.ID == "" {
		return "(a user without an id)"
	}
	return u.ID
}
