package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// fireFlags are how deliveries are sent, shared by send and scenario.
type fireFlags struct {
	to          string
	secret      string
	concurrency int
	rate        string
	retry       string
	output      string
	tamper      string
	stale       time.Duration
	headers     string
	noSign      bool
	profile     fake.Profile
	flags       *pflag.FlagSet
}

// envFlags are the flags that a variable sets when the command line does
// not.
var envFlags = map[string]string{"profile": "MOCKCLERK_PROFILE"}

func (f *fireFlags) register(fl *pflag.FlagSet, concurrency int) {
	fl.StringVar(&f.to, "to", defaultTo, "receiver URL")
	fl.StringVar(&f.secret, "secret", "", "signing secret (default: CLERK_WEBHOOK_SIGNING_SECRET, CLERK_WEBHOOK_SECRET)")
	fl.IntVar(&f.concurrency, "concurrency", concurrency, "deliveries in flight at once")
	fl.StringVar(&f.rate, "rate", "", "at most this many deliveries per second, e.g. 50/s")
	fl.StringVar(&f.retry, "retry", "none", "on a non-2xx answer or a network error, retry like Svix (same svix-id, re-signed): svix (Svix's real schedule, ~27 h), fast (the same 8 attempts in ~17 s), none")
	fl.StringVar(&f.output, "output", "text", "text, or ndjson (one JSON object per delivery on stdout)")
	fl.StringVar(&f.tamper, "tamper", "", "spoil the signature: body, signature or secret")
	fl.DurationVar(&f.stale, "stale", 0, "sign this long ago (e.g. 6m, outside Svix's 5 min tolerance); negative for the future")
	fl.StringVar(&f.headers, "headers", fake.HeadersSvix, "header names: svix (what Clerk sends) or webhook (Standard Webhooks)")
	fl.BoolVar(&f.noSign, "no-sign", false, "send no svix-signature header")
	fl.Var(&f.profile, "profile", "the Clerk instance's sign-up setting that generated users follow (env MOCKCLERK_PROFILE): mixed (email optional: some users have only a phone or a username), email-required, phone-only")
	f.flags = fl
}

// env reads the configuration, and the variables of envFlags into the
// flags the command line left out.
func (f *fireFlags) env() (*config.Env, error) { return loadEnv(f.flags, envFlags) }

// loadEnv reads the configuration, and the variables of vars (flag name →
// variable) into the flags of fl that the command line left out; a value
// those flags refuse is a usage mistake.
func loadEnv(fl *pflag.FlagSet, vars map[string]string) (*config.Env, error) {
	env, err := config.LoadEnv(".")
	if err != nil {
		return nil, err
	}
	if err := env.ApplyFlags(fl, vars); err != nil {
		return nil, usageError("%v", err)
	}
	return env, nil
}

// generator returns a Generator of users of --profile, starting now.
func (f *fireFlags) generator(seed uint64) *fake.Generator {
	g := fake.New(seed, time.Now())
	g.Profile = f.profile
	return g
}

// deliverer checks the flags and builds what sends each delivery, signed
// with the secret of --secret or env.
func (f *fireFlags) deliverer(env *config.Env) (*fake.Deliverer, float64, error) {
	shape := fake.Shape{Tamper: f.tamper, Skew: -f.stale, Headers: f.headers, NoSign: f.noSign}
	if err := shape.Validate(); err != nil {
		return nil, 0, usageError("--%v", err)
	}
	schedule, err := fake.Schedule(f.retry)
	if err != nil {
		return nil, 0, usageError("--%v", err)
	}
	if f.output != "text" && f.output != "ndjson" {
		return nil, 0, usageError("--output %q: want text or ndjson", f.output)
	}
	if f.concurrency < 1 {
		return nil, 0, usageError("--concurrency must be at least 1")
	}
	rate, err := parseRate(f.rate)
	if err != nil {
		return nil, 0, usageError("%v", err)
	}
	secret, _, err := webhook.LoadSecret(env, f.secret)
	if err != nil {
		return nil, 0, err
	}
	signer, err := fake.NewSigner(secret.Reveal())
	if err != nil {
		return nil, 0, err
	}
	return &fake.Deliverer{
		Client:   load.Client(f.concurrency, 15*time.Second), // Svix's own timeout
		URL:      f.to,
		Signer:   signer,
		Shape:    shape,
		Schedule: schedule,
	}, rate, nil
}

// parseRate reads "50", "50/s" or "3000/m".
func parseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	num, unit, _ := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--rate %q: want a positive number per second, e.g. 50/s", s)
	}
	switch unit {
	case "", "s":
		return n, nil
	case "m":
		return n / 60, nil
	}
	return 0, fmt.Errorf("--rate %q: the unit is /s or /m", s)
}

// line is one delivery's result in --output ndjson.
type line struct {
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	ID        string    `json:"id,omitempty"` // the entity's Clerk id: a user's, an organization's or a membership's
	UserID    string    `json:"user_id,omitempty"`
	SvixID    string    `json:"svix_id"`
	Status    int       `json:"status,omitempty"`
	Outcome   string    `json:"outcome,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	LatencyMS float64   `json:"latency_ms"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
}

// fire sends the deliveries and prints a line per attempt (text) or per
// delivery (ndjson), then a summary. It returns *runFailed when any
// delivery ended without a 2xx, and *exitError 130 when interrupted.
func (f *fireFlags) fire(ctx context.Context, dv *fake.Deliverer, rate float64, ds iter.Seq[fake.Delivery], stdout, stderr io.Writer) error {
	var (
		mu      sync.Mutex
		retried int
	)
	if f.output == "text" {
		dv.OnAttempt = func(d fake.Delivery, a fake.Attempt) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stdout, "%s  --> %s %s [%s]%s\n", clock(), d.Event.Type, entityID(d), d.ID, attemptNote(a.N))
			switch {
			case a.Err != nil:
				fmt.Fprintf(stdout, "%s  <-- error: %v\n", clock(), a.Err)
			case a.Response.Reason != "":
				fmt.Fprintf(stdout, "%s  <-- %d %s (%s) %s\n", clock(), a.Response.Status, a.Response.Outcome, a.Response.Reason, a.Response.Latency.Round(100*time.Microsecond))
			default:
				fmt.Fprintf(stdout, "%s  <-- %d %s\n", clock(), a.Response.Status, strings.TrimSpace(a.Response.Outcome+" "+a.Response.Latency.Round(100*time.Microsecond).String()))
			}
		}
	}
	enc := json.NewEncoder(stdout)
	stats, err := load.Each(ctx, ds, load.Options{Concurrency: f.concurrency, Rate: rate}, func(ctx context.Context, d fake.Delivery) load.Result {
		a := dv.Deliver(ctx, d)
		r := load.Result{Latency: a.Response.Latency, Status: a.Response.Status, Outcome: a.Response.Outcome, Err: a.Err}
		mu.Lock()
		defer mu.Unlock()
		if a.N > 1 {
			retried++
		}
		if f.output == "ndjson" {
			l := line{Time: time.Now().UTC(), Type: d.Event.Type, ID: entityID(d), UserID: d.Event.UserID, SvixID: d.ID, Status: r.Status,
				Outcome: r.Outcome, Reason: a.Response.Reason, LatencyMS: float64(r.Latency.Microseconds()) / 1000, Attempts: a.N}
			if a.Err != nil {
				l.Error = a.Err.Error()
			}
			enc.Encode(l) //nolint:errcheck // stdout gone: nothing to tell
		}
		return r
	})
	summary := stdout
	if f.output == "ndjson" {
		summary = stderr
	}
	ok := countRange(stats.Status, 200, 299)
	failed := stats.Sent - ok
	fmt.Fprintf(summary, "sent %d: %d 2xx, %d 4xx, %d 5xx, %d retried, %d failed", stats.Sent, ok,
		countRange(stats.Status, 400, 499), countRange(stats.Status, 500, 599), retried, failed)
	if stats.Sent > 1 {
		fmt.Fprintf(summary, "; %.0f deliveries/s, p50 %s, p99 %s", stats.PerSecond,
			stats.P50.Round(10*time.Microsecond), stats.P99.Round(10*time.Microsecond))
	}
	fmt.Fprintln(summary)
	if errors.Is(stats.FirstErr, syscall.ECONNREFUSED) {
		fmt.Fprintf(stderr, "mockclerk: nothing listens at %s: is clerk-sync running (go tool task dev)?\n", config.Redact(dv.URL))
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{code: 130, err: &runFailed{failed: failed}}
	}
	if failed > 0 {
		return &runFailed{failed: failed}
	}
	return nil
}

func attemptNote(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" (attempt %d)", n)
}

func countRange(m map[int]int, lo, hi int) int {
	n := 0
	for code, c := range m {
		if code >= lo && code <= hi {
			n += c
		}
	}
	return n
}

// entityID is the id of the entity a delivery is about: the user's (the
// user a session or a membership belongs to), or for an organization or a
// membership its own.
func entityID(d fake.Delivery) string {
	if k, _, ok := clerk.KindOf(d.Event.Type); ok && k != store.KindUser {
		return gjson.GetBytes(d.Body, "data.id").Str
	}
	return d.Event.UserID
}
