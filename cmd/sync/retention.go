package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// pruneInterval is how often the receiver looks for what the retention no
// longer keeps, once the backlog is gone.
const pruneInterval = time.Minute

// svixWindow is how long Svix may still deliver a message: its retries
// last about 27 hours. A shorter --keep-ids lets a late retry of an
// applied message count as new (the version rule still keeps it from
// changing anything).
const svixWindow = 28 * time.Hour

// age is a retention flag: 30d, 72h, forever.
type age struct{ d *time.Duration }

func (a age) Set(s string) error {
	d, err := store.ParseAge(s)
	if err != nil {
		return err
	}
	*a.d = d
	return nil
}

func (a age) String() string { return store.FormatAge(*a.d) }
func (a age) Type() string   { return "period" }

// registerRetention adds --keep-payloads and --keep-ids to fl.
func registerRetention(fl *pflag.FlagSet, r *store.Retention) {
	*r = store.DefaultRetention
	fl.Var(age{&r.Payloads}, "keep-payloads", "keep each delivery's raw body this long (30d, 72h, forever); a deleted user's bodies go at once [CLERK_SYNC_KEEP_PAYLOADS]")
	fl.Var(age{&r.IDs}, "keep-ids", "keep each delivery's ledger row (svix-id, outcome) this long: at least Svix's retry window of about a day (90d, forever) [CLERK_SYNC_KEEP_IDS]")
}

// describeRetention says what the ledger keeps, for doctor and the log.
func describeRetention(r store.Retention) string {
	return fmt.Sprintf("bodies %s, svix-ids %s, versions and tombstones forever", store.FormatAge(r.Payloads), store.FormatAge(r.IDs))
}

// startPruning prunes st to r in the background; the returned function
// stops it and waits, and must run before st closes.
func startPruning(ctx context.Context, st store.Pruner, r store.Retention, log *slog.Logger) (stop func()) {
	if r.IDs > 0 && r.IDs < svixWindow {
		log.Warn("--keep-ids is shorter than Svix's retry window: a late retry of a delivery already applied is no longer answered duplicate (it is stale instead)",
			"keep_ids", store.FormatAge(r.IDs))
	}
	// Look at least four times per window, so that nothing outlives it by
	// more than a quarter.
	every := pruneInterval
	for _, d := range []time.Duration{r.Payloads, r.IDs} {
		if d > 0 {
			every = min(every, d/4)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { store.KeepPruned(ctx, st, r, every, log) })
	return func() {
		cancel()
		wg.Wait()
	}
}
