package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// secretKeyVar holds the Backend API key, under Clerk's conventional name.
const secretKeyVar = "CLERK_SECRET_KEY"

type serveCmd struct {
	addr       string
	webhookURL string
	secret     string
	retry      string
	rateLimit  string
	drop       float64
	fail       float64
	latency    time.Duration
	users      int
	seed       uint64
	state      string
}

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var c serveCmd
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a fake Clerk instance: the Backend API's /v1/users, and the webhooks of its writes",
		Long: `serve runs a fake Clerk instance on localhost: the users endpoints of Clerk's
Backend API (GET /v1/users with limit, offset, order_by, starting_after and the
user_id / email_address filters; GET /v1/users/count; GET, POST, PATCH and
DELETE /v1/users/{id}) with Clerk's bodies, errors and rate limits.

Every write through the API changes the instance and fires the matching signed
webhook (user.created, user.updated, user.deleted) to --webhook-url, after the
API has answered, retried as Svix retries. --users N starts with N generated
users whose creation fired no webhook: users that predate the endpoint.

Requests must bear the key in CLERK_SECRET_KEY (environment, .env.local or
.env), as Clerk's do. Point any Clerk SDK at http://<addr>/v1.`,
		Example: `  mockclerk serve --users 5000                      # then: clerk-sync backfill --api-url http://localhost:8081
  mockclerk serve --users 100000 --rate-limit prod --state mockclerk-serve.json
  mockclerk serve --drop 0.1 --retry fast           # lose a tenth of the webhooks; retry the rest quickly
  mockclerk serve --fail 0.05 --latency 50ms        # 5% of API calls answer 500; every answer waits 50 ms
  mockclerk serve --webhook-url ''                  # the API only, no webhooks
  curl -H "Authorization: Bearer $CLERK_SECRET_KEY" 'http://localhost:8081/v1/users?limit=2&order_by=created_at'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(cmd.Context(), stdout, stderr) },
	}
	fl := cmd.Flags()
	fl.StringVar(&c.addr, "addr", "localhost:8081", "address to serve the Backend API on (under /v1)")
	fl.StringVar(&c.webhookURL, "webhook-url", defaultTo, "where the writes' webhooks go; empty for none")
	fl.StringVar(&c.secret, "secret", "", "webhook signing secret (default: CLERK_WEBHOOK_SIGNING_SECRET, CLERK_WEBHOOK_SECRET)")
	fl.StringVar(&c.retry, "retry", "svix", "webhook retries on a non-2xx or a network error: svix (Svix's schedule, ~27 h), fast (the same 8 attempts in ~17 s), none")
	fl.StringVar(&c.rateLimit, "rate-limit", "dev", "Clerk's rate limit per key: dev (100 requests per 10 s), prod (1,000 per 10 s), off")
	fl.Float64Var(&c.drop, "drop", 0, "share of webhooks never delivered (0–1), like deliveries Svix gave up on")
	fl.Float64Var(&c.fail, "fail", 0, "share of API calls answered 500 internal_clerk_error, before doing anything (0–1)")
	fl.DurationVar(&c.latency, "latency", 0, "added before every API answer, e.g. 50ms")
	fl.IntVar(&c.users, "users", 0, "start a new instance with this many generated users (no webhooks for them)")
	fl.Uint64Var(&c.seed, "seed", 1, "seed of the generated users, and of --drop and --fail")
	fl.StringVar(&c.state, "state", "", "keep the users in this JSON file across restarts (default: in memory only)")
	return cmd
}

// rateLimits maps --rate-limit to requests per fakeclerk.RateWindow.
var rateLimits = map[string]int{"dev": fakeclerk.DevRateLimit, "prod": fakeclerk.ProdRateLimit, "off": 0}

func (c *serveCmd) run(ctx context.Context, stdout, stderr io.Writer) error {
	limit, ok := rateLimits[c.rateLimit]
	if !ok {
		return usageError("--rate-limit %q: want dev, prod or off", c.rateLimit)
	}
	schedule, err := fake.Schedule(c.retry)
	if err != nil {
		return usageError("--%v", err)
	}
	if c.drop < 0 || c.drop > 1 || c.fail < 0 || c.fail > 1 {
		return usageError("--drop and --fail are shares between 0 and 1, e.g. 0.1")
	}
	if c.users < 0 || c.latency < 0 {
		return usageError("--users and --latency cannot be negative")
	}
	env, err := config.LoadEnv(".")
	if err != nil {
		return err
	}
	key, keySource, err := secretKey(env)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	hooks, hookNote, err := c.webhooks(env, schedule, log)
	if err != nil {
		return err
	}
	in, instanceNote, err := c.instance()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s (is another mockclerk serve running? choose another --addr): %w", c.addr, err)
	}
	api := fakeclerk.NewAPI(in, fakeclerk.APIOptions{Key: key, RateLimit: limit, Fail: c.fail, Latency: c.latency, Seed: c.seed, Webhooks: hooks, Log: log})
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "mockclerk serve: a fake Clerk instance, %s\n", instanceNote)
	fmt.Fprintf(stdout, "  Backend API  %s/v1   (requests bear %s from %s; rate limit %s)\n", base, secretKeyVar, keySource, c.rateLimit)
	fmt.Fprintf(stdout, "  webhooks     %s\n", hookNote)
	fmt.Fprintf(stdout, "  clerk-sdk-go: clerk.BackendConfig{URL: %q}   Ctrl-C stops\n", base+"/v1")
	if hooks != nil {
		// Declared before the saver's, so that it runs after it: the state
		// on disk is final before the retries still waiting are given up.
		defer func() {
			given := hooks.Close()
			s := hooks.Stats()
			fmt.Fprintf(stdout, "webhooks: %d delivered, %d failed, %d dropped, %d lost to a full queue, %d given up at exit\n",
				s.Delivered, s.Failed, s.Dropped, s.Overflowed, given)
		}()
	}
	stopSaver := c.saveEvery(in, time.Second, log)
	defer stopSaver()

	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", base, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown) //nolint:errcheck // stopping anyway: requests still open are cut
	return nil
}

// secretKey is the Backend API key the instance requires, and where it
// was found.
func secretKey(env *config.Env) (key, source string, err error) {
	key, source = env.Lookup(secretKeyVar)
	switch {
	case key == "":
		return "", "", fmt.Errorf("no %s in the environment, .env.local or .env: the fake instance answers only requests that bear its key, as Clerk does. "+
			"Add a line %s=sk_test_… (any sk_test_ followed by letters and digits) to .env.local, where clerk-sync backfill reads it too", secretKeyVar, secretKeyVar)
	}
	if err := clerkapi.CheckKey(key); err != nil {
		return "", "", fmt.Errorf("%s from %s: %w", secretKeyVar, source, err)
	}
	return key, source, nil
}

// webhooks builds the sender of the writes' webhooks, or nil when
// --webhook-url is empty, and a line that describes it.
func (c *serveCmd) webhooks(env *config.Env, schedule []time.Duration, log *slog.Logger) (*fakeclerk.Webhooks, string, error) {
	if c.webhookURL == "" {
		return nil, "none (--webhook-url is empty)", nil
	}
	secret, source, err := webhook.LoadSecret(env, c.secret)
	if err != nil {
		return nil, "", fmt.Errorf("%w (or serve the API alone with --webhook-url '')", err)
	}
	signer, err := fake.NewSigner(secret.Reveal())
	if err != nil {
		return nil, "", err
	}
	const queue = 10_000
	hooks := fakeclerk.NewWebhooks(fakeclerk.WebhookOptions{
		URL: c.webhookURL, Signer: signer, Schedule: schedule, Drop: c.drop, Queue: queue, Seed: c.seed,
		Client: load.Client(16, 15*time.Second), // Svix waits 15 s for an answer
		Log:    log,
	})
	note := fmt.Sprintf("%s   (signed with %s %s; retry %s", c.webhookURL, secret.Fingerprint(), source, c.retry)
	if c.drop > 0 {
		note += fmt.Sprintf("; dropping %g", c.drop)
	}
	return hooks, note + ")", nil
}

// instance loads --state when it exists, and otherwise starts a new
// instance with --users generated users; it returns a line saying which.
func (c *serveCmd) instance() (*fakeclerk.Instance, string, error) {
	if c.state != "" {
		in, err := fakeclerk.Load(c.state)
		switch {
		case err == nil:
			note := fmt.Sprintf("%d users from %s", in.Len(), c.state)
			if c.users > 0 {
				note += " (--users applies to a new state file only)"
			}
			return in, note, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, "", err
		}
	}
	in := fakeclerk.NewInstance()
	in.Seed(c.users, c.seed)
	note := fmt.Sprintf("%d generated users (seed %d)", c.users, c.seed)
	if c.state != "" {
		if _, err := in.Save(c.state); err != nil {
			return nil, "", err
		}
		note += ", kept in " + c.state
	}
	return in, note, nil
}

// saveEvery writes the state file at most once per period while writes
// come in, and once more when stopped.
func (c *serveCmd) saveEvery(in *fakeclerk.Instance, period time.Duration, log *slog.Logger) (stop func()) {
	if c.state == "" {
		return func() {}
	}
	saved := in.Changes()
	save := func() {
		if in.Changes() == saved {
			return
		}
		n, err := in.Save(c.state)
		if err != nil {
			log.Error("state not saved", "err", err)
			return
		}
		saved = n
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				save()
			case <-done:
				save()
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}
