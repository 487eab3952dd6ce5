package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/check"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

type checkCmd struct {
	to       string
	secret   string
	db       string
	config   string
	retry    string
	output   string
	junit    string
	cases    []string
	list     bool
	keep     bool
	parallel int
	profile  fake.Profile
}

// checkEnv are the check flags that a variable sets when the command line
// does not.
var checkEnv = map[string]string{"db": "DATABASE_URL", "config": "CLERK_SYNC_CONFIG", "profile": "MOCKCLERK_PROFILE"}

func newCheckCmd(stdout, stderr io.Writer) *cobra.Command {
	var c checkCmd
	cmd := &cobra.Command{
		Use:   "check --to URL --db DATABASE_URL",
		Short: "Test any Clerk webhook handler and say exactly where it is wrong",
		Long: `check runs a suite of cases against the webhook handler at --to — each a few
signed deliveries sent the way Svix sends them: out of order, repeated,
concurrent, forged — then reads the handler's users table (read-only, through
the mapping: clerk-sync.yaml, or the default "User" table) and compares it
with what Clerk's final state implies.

Each case ends pass (right table, every delivery taken at once), retries
(right only because Svix's retries brought refused deliveries in: hours of
delay in production) or fail (the rows and columns that are wrong, expected
vs found, or the deliveries answered wrongly). Each case uses users of its
own and deletes them at the end with a signed user.deleted, unless --keep.

The handler must verify with the signing secret that check signs with:
--secret, else CLERK_WEBHOOK_SIGNING_SECRET, else CLERK_WEBHOOK_SECRET (from
the environment, .env.local or .env). Exit 0 when every case passes, 1
otherwise, 2 on a usage mistake.`,
		Example: `  mockclerk check --list
  mockclerk check --to http://localhost:3000/api/webhooks/clerk --db "$DATABASE_URL"
  mockclerk check --to http://localhost:3000/api/webhooks/clerk --case stale-update --case no-email
  mockclerk check --to http://localhost:8080/api/webhooks/clerk --db clerk-sync.db --junit check.xml
  mockclerk check --to http://localhost:3000/api/webhooks/clerk --output json > check.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.run(cmd, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.to, "to", defaultTo, "the handler's URL")
	fl.StringVar(&c.secret, "secret", "", "signing secret (default: CLERK_WEBHOOK_SIGNING_SECRET, CLERK_WEBHOOK_SECRET)")
	fl.StringVar(&c.db, "db", "", "the handler's database: a SQLite file or a postgres:// URL, opened read-only [DATABASE_URL]")
	fl.StringVar(&c.config, "config", mapping.FileName, "mapping file: the users table and its columns; without it, the default \"User\" table [CLERK_SYNC_CONFIG]")
	fl.StringVar(&c.retry, "retry", "svix-fast", "retry refused deliveries: svix-fast (Svix's 8 attempts in under 5 s), svix (Svix's real schedule, ~27 h) or none")
	fl.StringVar(&c.output, "output", "text", "text, or json (the whole report as one object on stdout)")
	fl.StringVar(&c.junit, "junit", "", "also write the results as JUnit XML to this file, for CI")
	fl.StringArrayVar(&c.cases, "case", nil, "run only this case (repeatable; --list names them)")
	fl.BoolVar(&c.list, "list", false, "list the cases and what each proves, then exit")
	fl.BoolVar(&c.keep, "keep", false, "leave the cases' rows in the table")
	fl.IntVar(&c.parallel, "parallel", 4, "cases run at once")
	fl.Var(&c.profile, "profile", "your Clerk instance's sign-up setting (env MOCKCLERK_PROFILE): email-required skips the no-email case, which such an instance never sends")
	return cmd
}

func (c *checkCmd) run(cmd *cobra.Command, stdout, stderr io.Writer) error {
	cases, err := check.Select(c.cases)
	if err != nil {
		return usageError("--case: %v", err)
	}
	if c.list {
		for _, k := range cases {
			fmt.Fprintf(stdout, "%-21s %s\n", k.Name, k.Proves)
		}
		return nil
	}
	schedule, err := check.Schedule(c.retry)
	if err != nil {
		return usageError("--%v", err)
	}
	if c.output != "text" && c.output != "json" {
		return usageError("--output %q: want text or json", c.output)
	}
	if c.parallel < 1 {
		return usageError("--parallel must be at least 1")
	}
	env, err := loadEnv(cmd.Flags(), checkEnv)
	if err != nil {
		return err
	}
	if c.profile == fake.ProfileEmailRequired {
		cases = slices.DeleteFunc(cases, func(k check.Case) bool { return k.Name == check.NoEmail })
		if len(cases) == 0 {
			return usageError("--case no-email: an instance that requires an email never sends a user without one (--profile email-required)")
		}
	}
	if c.db == "" {
		return usageError("no database: give --db (or set DATABASE_URL) to the database your handler writes, so that check can read its users table")
	}
	m, err := c.mapping(cmd)
	if err != nil {
		return usageError("%v", err)
	}
	secret, _, err := webhook.LoadSecret(env, c.secret)
	if err != nil {
		return err
	}
	signer, err := fake.NewSigner(secret.Reveal())
	if err != nil {
		return err
	}
	if err := reachable(c.to); err != nil {
		return err
	}
	ctx := cmd.Context()
	view, desc, err := server.OpenView(ctx, c.db, m)
	if err != nil {
		return fmt.Errorf("cannot read the handler's table: %w", err)
	}
	defer view.Close()

	table := fmt.Sprintf("table %s in %s", m.QualifiedName(), desc)
	if c.output == "text" {
		fmt.Fprintf(stdout, "mockclerk check: %d case(s) against %s; %s\n", len(cases), config.Redact(c.to), table)
	}
	cfg := check.Config{
		URL: c.to, Client: load.Client(32, 15*time.Second), Signer: signer, Schedule: schedule,
		View: view, Mapping: m, Keep: c.keep, Parallel: c.parallel, Seed: uint64(time.Now().UnixNano()),
	}
	if c.output == "text" {
		cfg.OnResult = func(r check.Result) { check.WriteText(stdout, r) }
	}
	start := time.Now()
	results, err := check.Run(ctx, cfg, cases)
	elapsed := time.Since(start)
	if errors.Is(err, context.Canceled) {
		return &exitError{code: 130, err: err}
	}
	if c.output == "json" {
		rep := check.Report{URL: config.Redact(c.to), Table: table, Summary: check.Summarize(results), Cases: results}
		if err := check.WriteJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		check.WriteSummary(stdout, results, elapsed)
	}
	if c.junit != "" {
		if err := writeJUnit(c.junit, results, elapsed); err != nil {
			return err
		}
	}
	if s := check.Summarize(results); !s.OK() {
		return &runFailed{failed: s.Retries + s.Fail}
	}
	return nil
}

// mapping reads the file that --config or CLERK_SYNC_CONFIG names, which
// must exist, else clerk-sync.yaml when there is one, else the default
// mapping: the same rule as clerk-sync's.
func (c *checkCmd) mapping(cmd *cobra.Command) (mapping.Mapping, error) {
	return mapping.LoadOr(c.config, cmd.Flags().Changed("config"))
}

// reachable checks that something listens at the handler's address, so
// that a handler that is not running is one clear error, not a failure of
// every case.
func reachable(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("--to %q: want an http:// or https:// URL", config.Redact(raw))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(u.Hostname(), port), 5*time.Second)
	if err != nil {
		return fmt.Errorf("nothing answers at %s (%v): start your app first", config.Redact(raw), err)
	}
	return conn.Close()
}

func writeJUnit(path string, results []check.Result, elapsed time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := check.WriteJUnit(f, results, elapsed); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return f.Close()
}
