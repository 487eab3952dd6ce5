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
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/check"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
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
concurrent, forged — then reads the handler's tables (read-only, through
the mapping: clerk-sync.yaml, or the default "User", "Organization" and
"OrganizationMembership" tables) and compares them with what Clerk's final
state implies.

The organization cases run when the mapping maps their tables: a mapping
file without an organizations or memberships section, or, without a
mapping file, a database without the default tables (a users-only app),
skips them with a line that says why.

Each case ends pass (right table, every delivery taken at once), retries
(right only because Svix's retries brought refused deliveries in: hours of
delay in production) or fail (the rows and columns that are wrong, expected
vs found, or the deliveries answered wrongly). Each case uses users and
organizations of its own and deletes them at the end with signed deletions,
unless --keep.

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
	fl.StringVar(&c.config, "config", mapping.FileName, "mapping file: the tables and their columns; without it, the default \"User\", \"Organization\" and \"OrganizationMembership\" tables [CLERK_SYNC_CONFIG]")
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
	tables, missing, err := openOthers(ctx, c.db, m)
	if err != nil {
		return err
	}
	defer func() {
		for _, v := range tables {
			v.Close()
		}
	}()
	cases, skipped := runnable(cases, missing)
	if len(skipped) > 0 && len(c.cases) > 0 {
		return usageError("--case %s: %s", skipped[0].Case, skipped[0].Reason)
	}

	names := []string{m.QualifiedName()}
	for _, kind := range store.Kinds[1:] {
		if _, ok := tables[kind]; ok {
			km, _ := m.For(kind)
			names = append(names, km.QualifiedName())
		}
	}
	table := fmt.Sprintf("table %s in %s", names[0], desc)
	if len(names) > 1 {
		table = fmt.Sprintf("tables %s in %s", strings.Join(names, ", "), desc)
	}
	if c.output == "text" {
		fmt.Fprintf(stdout, "mockclerk check: %d case(s) against %s; %s\n", len(cases), config.Redact(c.to), table)
		check.WriteSkipped(stdout, skipped)
	}
	cfg := check.Config{
		URL: c.to, Client: load.Client(32, 15*time.Second), Signer: signer, Schedule: schedule,
		View: view, Tables: tables, Mapping: m, Keep: c.keep, Parallel: c.parallel, Seed: uint64(time.Now().UnixNano()),
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
		rep := check.Report{URL: config.Redact(c.to), Table: table, Summary: check.Summarize(results), Cases: results, Skipped: skipped}
		if err := check.WriteJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		check.WriteSummary(stdout, results, elapsed)
	}
	if c.junit != "" {
		if err := writeJUnit(c.junit, results, skipped, elapsed); err != nil {
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

// openOthers opens the organizations and memberships tables that m maps,
// and says for each kind it leaves out why its cases cannot run. With the
// default mapping (no mapping file) a table that cannot be read is left
// out too, as a users-only app has none; a table that a mapping file maps
// must be readable.
func openOthers(ctx context.Context, dsn string, m mapping.Mapping) (map[store.Kind]store.View, map[store.Kind]string, error) {
	views := map[store.Kind]store.View{}
	missing := map[store.Kind]string{}
	for _, kind := range store.Kinds[1:] {
		section := mapping.Section(kind)
		km, ok := m.For(kind)
		if !ok {
			missing[kind] = fmt.Sprintf("%s maps no %s: add `%s: default` (or your own table) to it to judge them", m.Source, section, section)
			continue
		}
		v, _, err := server.OpenView(ctx, dsn, km)
		switch {
		case err == nil:
			views[kind] = v
		case m.Source == "":
			missing[kind] = fmt.Sprintf("no %s table to read: %v", section, err)
		default:
			for _, v := range views {
				v.Close()
			}
			return nil, nil, fmt.Errorf("cannot read the handler's %s table: %w", kind, err)
		}
	}
	return views, missing, nil
}

// runnable splits cases into those whose tables are all there and those
// skipped, each with the reason of its first missing table.
func runnable(cases []check.Case, missing map[store.Kind]string) ([]check.Case, []check.Skip) {
	var run []check.Case
	var skipped []check.Skip
	for _, k := range cases {
		i := slices.IndexFunc(k.Kinds, func(kind store.Kind) bool { return missing[kind] != "" })
		if i < 0 {
			run = append(run, k)
			continue
		}
		skipped = append(skipped, check.Skip{Case: k.Name, Reason: missing[k.Kinds[i]]})
	}
	return run, skipped
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

func writeJUnit(path string, results []check.Result, skipped []check.Skip, elapsed time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := check.WriteJUnit(f, results, skipped, elapsed); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return f.Close()
}
