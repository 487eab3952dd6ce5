package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// reconcileFlags run `clerk-sync reconcile --apply` inside the receiver,
// in the background, every period.
type reconcileFlags struct {
	every time.Duration
	url   string
	rate  float64
}

func (r *reconcileFlags) register(fl *pflag.FlagSet) {
	fl.DurationVar(&r.every, "reconcile-every", 0, "repair the table from Clerk's Backend API this often, in the background (e.g. 6h; needs CLERK_SECRET_KEY); 0: never [CLERK_SYNC_RECONCILE_EVERY]")
	fl.StringVar(&r.url, "api-url", clerkapi.DefaultURL, "with --reconcile-every: Clerk's Backend API; a mockclerk serve is http://localhost:8081 [CLERK_API_URL]")
	fl.Float64Var(&r.rate, "rate", clerkapi.DefaultRate, "with --reconcile-every: at most this many API requests per second (a development instance allows 10, production 100) [CLERK_SYNC_API_RATE]")
}

// client checks the settings and returns the Backend API's client, or
// nil when --reconcile-every is off.
func (r *reconcileFlags) client(env *config.Env, relaying bool, log *slog.Logger) (*clerkapi.Client, error) {
	switch {
	case r.every < 0:
		return nil, fmt.Errorf("--reconcile-every must be positive (e.g. 6h), not %s", r.every)
	case r.every == 0:
		return nil, nil
	case relaying:
		return nil, errors.New("--reconcile-every and --forward-to exclude each other: in relay mode your app writes the users; run its own repair, or clerk-sync reconcile against its table")
	}
	api, err := newAPIClient(env, r.url, r.rate, func(err error, wait time.Duration) {
		log.Warn("reconcile: retrying", "err", err, "wait_ms", wait.Milliseconds())
	})
	if err != nil {
		return nil, fmt.Errorf("--reconcile-every: %w", err)
	}
	return api, nil
}

// startReconciling reconciles st with api every period until the
// returned function, which must run before st closes, stops it. Without
// an API client it does nothing. The Periodic holds the last run.
func (r *reconcileFlags) start(ctx context.Context, api *clerkapi.Client, st store.Store, log *slog.Logger) (*backfill.Periodic, func()) {
	if api == nil {
		return nil, func() {}
	}
	p := backfill.NewPeriodic(api, st, r.every, log)
	log.Info("reconcile: in the background", "every", r.every.String(), "api_url", r.url, "rate", r.rate)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { p.Run(ctx) })
	return p, func() {
		cancel()
		wg.Wait()
	}
}
