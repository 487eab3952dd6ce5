package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/progress"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// apiFlags reach Clerk's Backend API: backfill and reconcile share them.
type apiFlags struct {
	mapping *mappingFlags
	url     string
	rate    float64
	output  *choice
}

func newAPIFlags() *apiFlags {
	return &apiFlags{mapping: newMappingFlags(true), output: newChoice("text", "text", "ndjson")}
}

func (f *apiFlags) register(fl *pflag.FlagSet) {
	f.mapping.register(fl)
	fl.StringVar(&f.url, "api-url", clerkapi.DefaultURL, "Clerk's Backend API; a mockclerk serve is http://localhost:8081 [CLERK_API_URL]")
	fl.Float64Var(&f.rate, "rate", clerkapi.DefaultRate, "at most this many API requests per second: a development instance allows 10, production 100; leave room for the app's own calls [CLERK_SYNC_API_RATE]")
	fl.Var(f.output, "output", "text, or ndjson: one JSON object per page (backfill) or per drifting user (reconcile) on stdout [CLERK_SYNC_OUTPUT]")
}

// open reads the settings, then opens the API client and the store.
func (f *apiFlags) open(cmd *cobra.Command, stderr io.Writer) (*clerkapi.Client, store.Store, string, error) {
	env, err := loadEnv(cmd)
	if err != nil {
		return nil, nil, "", err
	}
	m, err := f.mapping.load(cmd)
	if err != nil {
		return nil, nil, "", err
	}
	api, err := newAPIClient(env, f.url, f.rate, func(err error, wait time.Duration) {
		fmt.Fprintf(stderr, "clerk-sync: %v; retrying in %s\n", err, wait.Round(100*time.Millisecond))
	})
	if err != nil {
		return nil, nil, "", err
	}
	st, desc, err := server.OpenStore(cmd.Context(), f.mapping.db, m)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open database: %w", err)
	}
	return api, st, desc + ", " + describe(m), nil
}

// newAPIClient reads CLERK_SECRET_KEY and returns a client of the Backend
// API at url, within rate requests per second.
func newAPIClient(env *config.Env, url string, rate float64, onRetry func(error, time.Duration)) (*clerkapi.Client, error) {
	key, source := env.Lookup("CLERK_SECRET_KEY")
	if err := clerkapi.CheckKey(key); err != nil {
		where := "looked in the environment, .env.local and .env"
		if source != "" {
			where = "from " + source
		}
		return nil, fmt.Errorf("CLERK_SECRET_KEY (%s): %w", where, err)
	}
	if rate <= 0 {
		return nil, fmt.Errorf("--rate must be positive, not %g", rate)
	}
	return clerkapi.New(key, url, clerkapi.Options{Rate: rate, OnRetry: onRetry})
}

func newBackfillCmd(stdout, stderr io.Writer) *cobra.Command {
	f := newAPIFlags()
	var restart bool
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Read every user from Clerk's Backend API into the table (resumable)",
		Long: `backfill reads every user of the Clerk instance (CLERK_SECRET_KEY) page by page
and applies each through the same rules as a webhook: a row that a webhook made
newer stays, and a deleted user never comes back. Run it once when you add
clerk-sync to an instance that already has users, or after an outage longer than
Svix's retries; running it twice, or during live traffic, changes nothing that a
webhook wrote later.

It keeps within --rate (and waits out Clerk's 429s), saves its place in the
database after every page, and Ctrl-C stops it after the page in hand: run it
again to continue (--restart begins anew).`,
		Example: `  clerk-sync backfill
  DATABASE_URL=postgres://app@localhost/app clerk-sync backfill --rate 50
  clerk-sync backfill --api-url http://localhost:8081   # against mockclerk serve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, st, desc, err := f.open(cmd, stderr)
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintf(stderr, "clerk-sync backfill: users from %s into %s\n", f.url, desc)
			show := newPageReporter(stdout, stderr, f.output.value)
			p, err := backfill.Run(cmd.Context(), api, st, backfill.Options{Restart: restart, OnPage: show.page})
			show.done()
			fmt.Fprintf(stderr, "%d users read, %d applied, %d already up to date, %d failed in %s (%.0f users/s)\n",
				p.Done, p.Applied, p.Stale, p.Failed, p.Elapsed.Round(time.Millisecond), perSecond(p))
			for _, fl := range p.Failures {
				fmt.Fprintf(stderr, "  failed: %s\n", fl)
			}
			switch {
			case errors.Is(err, backfill.ErrStopped):
				return errors.New("stopped; run it again to continue where it stopped")
			case err != nil:
				return fmt.Errorf("backfill: %w (run it again to continue after the last page applied)", err)
			case p.Failed > 0:
				return fmt.Errorf("%d users could not be applied", p.Failed)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&restart, "restart", false, "forget where an earlier run stopped and read every user again")
	return cmd
}

func perSecond(p backfill.Progress) float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	// Users read this run only.
	return float64(p.Applied+p.Stale+p.Failed) / p.Elapsed.Seconds()
}

// pageReporter shows a backfill's progress: a bar on a terminal, a line
// per second otherwise, a JSON object per page with --output ndjson.
type pageReporter struct {
	stderr io.Writer
	emit   func(any)
	bar    *progress.Model
	last   time.Time
}

func newPageReporter(stdout, stderr io.Writer, output string) *pageReporter {
	r := &pageReporter{stderr: stderr}
	switch {
	case output == "ndjson":
		r.emit = ndjson(stdout)
	case isTerminal(stderr):
		bar := progress.New(progress.WithWidth(40), progress.WithoutPercentage())
		r.bar = &bar
	}
	return r
}

// pageLine is a page of a backfill in ndjson.
type pageLine struct {
	Done    int64   `json:"done"`
	Total   int64   `json:"total"`
	Applied int     `json:"applied"`
	Stale   int     `json:"stale"`
	Failed  int     `json:"failed"`
	PerSec  float64 `json:"users_per_second"`
}

func (r *pageReporter) page(p backfill.Progress) {
	rate := perSecond(p)
	eta := "?"
	if left := p.Total - p.Done; rate > 0 && left > 0 {
		eta = (time.Duration(float64(left)/rate) * time.Second).Round(time.Second).String()
	} else if left <= 0 {
		eta = "0s"
	}
	line := fmt.Sprintf("%d / %d users, %.0f users/s, ETA %s", p.Done, p.Total, rate, eta)
	switch {
	case r.emit != nil:
		r.emit(pageLine{p.Done, p.Total, p.Applied, p.Stale, p.Failed, rate})
	case r.bar != nil:
		share := 1.0
		if p.Total > 0 {
			share = min(1, float64(p.Done)/float64(p.Total))
		}
		fmt.Fprintf(r.stderr, "\r%s %s\x1b[K", r.bar.ViewAs(share), line)
	case time.Since(r.last) >= time.Second:
		r.last = time.Now()
		fmt.Fprintln(r.stderr, line)
	}
}

func (r *pageReporter) done() {
	if r.bar != nil {
		fmt.Fprintln(r.stderr)
	}
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	if l, ok := w.(lockedWriter); ok {
		w = l.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd()) && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}
