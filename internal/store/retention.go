package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Retention says how long the ledger keeps what. Versions and tombstones
// are kept forever: they are small and the rules need them.
type Retention struct {
	// Payloads is how long a delivery's raw body is kept (for replay and
	// the inspector); 0 keeps bodies forever.
	Payloads time.Duration
	// IDs is how long a delivery's ledger row, its svix-id, is kept: as
	// long as Svix may still deliver or replay the message. 0 keeps rows
	// forever.
	IDs time.Duration
}

// DefaultRetention keeps bodies 30 days and svix-ids 90 days.
var DefaultRetention = Retention{Payloads: 30 * Day, IDs: 90 * Day}

// Day is 24 hours, the unit that retention is usually given in.
const Day = 24 * time.Hour

// Cutoffs are the times before which a Prune drops bodies and rows; a
// zero time drops nothing.
type Cutoffs struct {
	Payloads time.Time
	IDs      time.Time
}

// Cutoffs returns what r drops at now.
func (r Retention) Cutoffs(now time.Time) Cutoffs {
	var c Cutoffs
	if r.Payloads > 0 {
		c.Payloads = now.Add(-r.Payloads)
	}
	if r.IDs > 0 {
		c.IDs = now.Add(-r.IDs)
	}
	return c
}

// Pruned counts what one Prune removed.
type Pruned struct {
	Payloads   int // bodies emptied
	Deliveries int // ledger rows deleted
	// Yielded: deliveries were waiting, so nothing was pruned; try again
	// soon.
	Yielded bool
}

// Pruner drops what the retention no longer keeps, at most limit rows of
// each kind per call, in one short transaction, oldest first. Every Store
// is one.
type Pruner interface {
	Prune(ctx context.Context, c Cutoffs, limit int) (Pruned, error)
}

// PruneBatch is how many rows of each kind one Prune call removes: small,
// so that a call never holds up deliveries for long.
const PruneBatch = 500

// KeepPruned prunes st to r until ctx ends: batch after batch while there
// is a backlog, with a pause between batches that lets deliveries pass,
// then once every interval. Errors are logged and retried at the next
// interval.
func KeepPruned(ctx context.Context, st Pruner, r Retention, interval time.Duration, log *slog.Logger) {
	if r.Payloads == 0 && r.IDs == 0 {
		return
	}
	const pause = 20 * time.Millisecond
	for {
		p, err := st.Prune(ctx, r.Cutoffs(time.Now()), PruneBatch)
		wait := interval
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning the ledger failed; retrying later", "err", err)
		case err == nil && (p.Yielded || p.Payloads == PruneBatch || p.Deliveries == PruneBatch):
			wait = pause
		}
		if err == nil && (p.Payloads > 0 || p.Deliveries > 0) {
			log.Debug("pruned the ledger", "payloads", p.Payloads, "deliveries", p.Deliveries)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// ParseAge reads a retention period: a Go duration ("72h", "90m"), a
// number of days ("7d", "30d"), or "forever" (0: keep for ever).
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "forever" || s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, fmt.Errorf("%q: want a number of days such as 30d", s)
		}
		return time.Duration(n * float64(Day)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a period such as 30d, 72h or forever", s)
	}
	if d <= 0 {
		return 0, errors.New("a retention period must be positive (or forever)")
	}
	return d, nil
}

// FormatAge writes d the way ParseAge reads it, in days when whole.
func FormatAge(d time.Duration) string {
	switch {
	case d == 0:
		return "forever"
	case d%Day == 0:
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return d.String()
}
