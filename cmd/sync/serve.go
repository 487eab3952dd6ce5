package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/inspect"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/tunnel"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

// DefaultDB is the SQLite file used when no database is named.
const DefaultDB = "clerk-sync.db"

// serveFlags are the settings of the receiver; envVars names the variable
// that stands in for each flag left unset.
type serveFlags struct {
	addr      string
	path      string
	secret    string
	maxBody   int64
	inFlight  int64
	mapping   *mappingFlags
	logFormat *choice
	logLevel  *choice

	output        *choice
	tui           bool
	tunnel        *choice
	domain        string
	tunnelTimeout time.Duration
	edgeVerify    bool
	forwardTo     string
	retention     store.Retention
	reconcile     reconcileFlags
}

// newOpener builds the tunnel; tests replace it with a local listener.
var newOpener = func(n *tunnel.Ngrok) tunnel.Opener { return n }

var envVars = map[string]string{
	"addr":         "CLERK_SYNC_ADDR",
	"db":           "DATABASE_URL",
	"path":         "CLERK_SYNC_PATH",
	"max-body":     "CLERK_SYNC_MAX_BODY",
	"max-inflight": "CLERK_SYNC_MAX_INFLIGHT",
	"on-delete":    "CLERK_SYNC_ON_DELETE",
	"config":       "CLERK_SYNC_CONFIG",
	"log-format":   "CLERK_SYNC_LOG_FORMAT",
	"log-level":    "CLERK_SYNC_LOG_LEVEL",
	"output":       "CLERK_SYNC_OUTPUT",
	"tui":          "CLERK_SYNC_TUI",

	"tunnel":         "CLERK_SYNC_TUNNEL",
	"domain":         "NGROK_DOMAIN",
	"tunnel-timeout": "CLERK_SYNC_TUNNEL_TIMEOUT",
	"edge-verify":    "CLERK_SYNC_EDGE_VERIFY",
	"forward-to":     "CLERK_SYNC_FORWARD_TO",
	"keep-payloads":  "CLERK_SYNC_KEEP_PAYLOADS",
	"keep-ids":       "CLERK_SYNC_KEEP_IDS",
	"api-url":        "CLERK_API_URL",
	"rate":           "CLERK_SYNC_API_RATE",

	"reconcile-every": "CLERK_SYNC_RECONCILE_EVERY",
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	f := serveFlags{
		mapping:   newMappingFlags(true),
		logFormat: newChoice("text", "text", "json"),
		logLevel:  newChoice("info", "debug", "info", "warn", "error"),
		tunnel:    newChoice("off", "off", "on", "auto"),
		output:    newChoice("text", "text", "ndjson"),
	}
	cmd := &cobra.Command{
		Use:   "clerk-sync",
		Short: "Keep your users (and organizations, memberships) tables in step with Clerk's webhooks",
		Long: `clerk-sync receives Clerk's user.*, organization.* and organizationMembership.*
webhooks, verifies each delivery's Svix signature, and writes the users,
organizations and memberships into PostgreSQL or an embedded SQLite file —
correctly under duplicates, any delivery order and several replicas.

Every flag can also come from the environment (or .env.local, then .env, in the
working directory). The signing secret comes from --secret, else
CLERK_WEBHOOK_SIGNING_SECRET, else CLERK_WEBHOOK_SECRET.`,
		Example: `  # SQLite file clerk-sync.db in this directory, secret from .env.local
  clerk-sync

  # PostgreSQL, JSON logs
  DATABASE_URL=postgres://app@localhost/app clerk-sync --log-format json

  # Then point Clerk (Dashboard → Webhooks) or mockclerk at
  #   http://localhost:8080/api/webhooks/clerk

  # Port 8080 taken: listen elsewhere
  clerk-sync --addr localhost:8081

  # Bodies up to 256 KiB; at most 8 MiB of bodies in memory at once
  clerk-sync --max-body 262144 --max-inflight 8388608

  # Also repair what webhooks missed, from Clerk's Backend API (CLERK_SECRET_KEY), every 6 hours
  clerk-sync --reconcile-every 6h`,
		Args:          unknownCommand,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, &f, stdout, stderr)
		},
	}
	cmd.SuggestionsMinimumDistance = 2 // cobra's own, which it sets only when it suggests itself
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.AddCommand(newSchemaCmd(stdout), newMigrateCmd(stdout), newDoctorCmd(stdout), newBackfillCmd(stdout, stderr), newReconcileCmd(stdout, stderr), newReplayCmd(stdout, stderr))
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "localhost:8080", "listen address [CLERK_SYNC_ADDR]")
	fl.StringVar(&f.path, "path", "/api/webhooks/clerk", "webhook path [CLERK_SYNC_PATH]")
	fl.StringVar(&f.secret, "secret", "", "Svix signing secret, whsec_… (prefer CLERK_WEBHOOK_SIGNING_SECRET: flags show in ps)")
	fl.Int64Var(&f.maxBody, "max-body", webhook.DefaultMaxBody, "largest accepted body in bytes [CLERK_SYNC_MAX_BODY]")
	fl.Int64Var(&f.inFlight, "max-inflight", webhook.DefaultMaxInFlight, "bytes of request bodies held in memory at once, by all requests together; a delivery that finds no room is answered 503 with Retry-After, which Svix retries (at least twice --max-body) [CLERK_SYNC_MAX_INFLIGHT]")
	f.mapping.register(fl)
	fl.Var(f.logFormat, "log-format", "log format: text or json [CLERK_SYNC_LOG_FORMAT]")
	fl.Var(f.logLevel, "log-level", "log level: debug, info, warn or error [CLERK_SYNC_LOG_LEVEL]")
	fl.Var(f.output, "output", "per-delivery output: text (a log line on stderr) or ndjson (one JSON object per delivery on stdout) [CLERK_SYNC_OUTPUT]")
	fl.BoolVar(&f.tui, "tui", false, "show the inspector: incoming events beside the users table; logs go to a file [CLERK_SYNC_TUI]")
	fl.Var(f.tunnel, "tunnel", `open an ngrok tunnel (token: NGROK_AUTHTOKEN): "on" (--tunnel) fails without one, "auto" goes on locally [CLERK_SYNC_TUNNEL]`)
	fl.Lookup("tunnel").NoOptDefVal = "on"
	fl.StringVar(&f.domain, "domain", "", "the ngrok account's static domain, so the URL stays the same [NGROK_DOMAIN]")
	fl.DurationVar(&f.tunnelTimeout, "tunnel-timeout", tunnel.DefaultTimeout, "give up opening the tunnel after this long [CLERK_SYNC_TUNNEL_TIMEOUT]")
	fl.BoolVar(&f.edgeVerify, "edge-verify", false, "also have ngrok verify Clerk's signatures at its edge (verify-webhook policy) [CLERK_SYNC_EDGE_VERIFY]")
	registerRetention(fl, &f.retention)
	f.reconcile.register(fl)
	fl.StringVar(&f.forwardTo, "forward-to", "", "relay mode: forward each verified delivery, byte for byte, to your app's handler at this URL and write no users [CLERK_SYNC_FORWARD_TO]")
	return cmd
}

func serve(cmd *cobra.Command, f *serveFlags, stdout, stderr io.Writer) error {
	ctx := cmd.Context()
	env, err := loadEnv(cmd)
	if err != nil {
		return err
	}
	var (
		logFile string
		profile fake.Profile // the users that c invents, as mockclerk's
	)
	if f.tui {
		if f.output.value == "ndjson" {
			return errors.New("--tui and --output ndjson exclude each other: the inspector shows what ndjson would print")
		}
		if v, from := env.Lookup("MOCKCLERK_PROFILE"); v != "" {
			if err := profile.Set(v); err != nil {
				return fmt.Errorf("MOCKCLERK_PROFILE (from %s), which the inspector's c follows as mockclerk does: %w", from, err)
			}
		}
		file, path, err := openLogFile()
		if err != nil {
			return err
		}
		defer file.Close()
		// While the inspector owns the terminal nothing else writes to it.
		stdout, stderr, logFile = file, file, path
	}
	log := newLogger(stderr, f.logFormat.value, f.logLevel.value)
	// Relaying without the app's database uses no table at all.
	relayOnly := f.forwardTo != "" && !cmd.Flags().Changed("db")
	m := mapping.Default()
	if !relayOnly {
		if m, err = f.mapping.load(cmd); err != nil {
			return err
		}
	}
	if f.maxBody <= 0 {
		return fmt.Errorf("--max-body must be positive, not %d", f.maxBody)
	}
	if f.inFlight < 2*f.maxBody {
		return fmt.Errorf("--max-inflight %d is less than twice --max-body (%d): a body of the largest size could not be in flight beside small ones; raise --max-inflight to %d or more", f.inFlight, f.maxBody, 2*f.maxBody)
	}
	if !strings.HasPrefix(f.path, "/") {
		return fmt.Errorf("--path must start with /, not %q", f.path)
	}
	secret, source, err := webhook.LoadSecret(env, f.secret)
	if err != nil {
		return err
	}
	if secret.Len() < webhook.MinKeyLen {
		log.Warn("the signing secret is short: whoever guesses it can forge deliveries", "bytes", secret.Len(), "want", webhook.MinKeyLen,
			"fix", "use the secret Clerk's Dashboard shows for the endpoint, or `mockclerk secret --write-env` for a local one", "secret", secret, "secret_from", source)
	}

	localSecret := config.IsLocalSecret(secret.Fingerprint())
	var emit func(any) // --output ndjson; stdout then carries nothing else
	banner := stdout
	if f.output.value == "ndjson" {
		emit, banner = ndjson(stdout), stderr
	}
	var pub *server.Public
	if f.tunnel.value != "off" {
		if pub, err = f.public(env, secret, localSecret, m, log, banner, emit); err != nil {
			return err
		}
	}
	if f.forwardTo != "" {
		if u, err := url.Parse(f.forwardTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--forward-to %q: want an http:// or https:// URL", config.Redact(f.forwardTo))
		}
	}
	api, err := f.reconcile.client(env, f.forwardTo != "", log)
	if err != nil {
		return err
	}

	var (
		st       store.Store
		rows     store.View // what the inspector shows
		desc     = "none: relaying to " + config.Redact(f.forwardTo)
		periodic *backfill.Periodic // --reconcile-every's runs, or nil
	)
	switch {
	case f.forwardTo == "":
		if st, desc, err = server.OpenStore(ctx, f.mapping.db, m); err != nil {
			return fmt.Errorf("open database: %w", err)
		}
		defer st.Close()
		defer startPruning(ctx, st, f.retention, log)()
		var stopReconciling func()
		periodic, stopReconciling = f.reconcile.start(ctx, api, st, log)
		defer stopReconciling()
		rows = st
	case !relayOnly:
		// Relay mode: the app writes; the inspector only looks.
		if rows, desc, err = server.OpenView(ctx, f.mapping.db, m); err != nil {
			return fmt.Errorf("open the app's database: %w", err)
		}
		defer rows.Close()
	}
	observe := f.observer(log, emit)
	var inspector *tea.Program // set before anything is served
	if f.tui {
		report := observe
		fd := newFeed(ctx, log, func(m tea.Msg) { inspector.Send(m) })
		observe = func(r webhook.Report) {
			report(r)
			fd.report(r)
		}
		if pub != nil {
			status := pub.Status
			pub.Status = func(s tunnel.Status) {
				status(s)
				inspector.Send(tui.TunnelMsg{Status: s})
			}
		}
	}
	local, public, err := server.Handlers(server.Config{
		Path: f.path, Secret: secret, MaxBody: f.maxBody, MaxInFlight: f.inFlight, ForwardTo: f.forwardTo, View: rows,
		Observe: observe,
	}, st)
	if err != nil {
		return err
	}
	ln, err := listen(f.addr)
	if err != nil {
		return err
	}
	webhookURL := "http://" + ln.Addr().String() + f.path
	log.Info("clerk-sync listening", "webhook_url", webhookURL, "database", desc, "secret", secret, "secret_from", source, "tables", describe(m), "mapping", m.Source, "on_delete", m.OnDelete, "retention", describeRetention(f.retention))
	fmt.Fprintf(banner, "clerk-sync: POST %s  (database: %s)\n", webhookURL, desc)
	printChecklist(banner, webhookURL, subscribeTo(m), secret.Fingerprint(), source, localSecret, pub != nil)
	if !f.tui {
		return server.Run(ctx, log, ln, local, pub, public)
	}
	signer, err := fake.NewSigner(secret.Reveal())
	if err != nil {
		return err
	}
	backend := inspect.New(rows, webhookURL, signer)
	backend.SetProfile(profile)
	inspector = tea.NewProgram(tui.New(backend, tui.Info{
		Listen: ln.Addr().String(), WebhookURL: webhookURL, Database: desc,
		Fingerprint: secret.Fingerprint(), SecretSource: source, ForwardTo: config.Redact(f.forwardTo),
		LogFile: logFile, LocalSecret: localSecret, Columns: m.ColumnNames(), KindColumns: kindColumns(m),
	}), tea.WithContext(ctx))
	if periodic != nil {
		show := func(s backfill.Summary) {
			inspector.Send(tui.ReconcileMsg{At: s.At, Drift: s.Drift(), Repaired: s.Repaired, Error: s.Error})
		}
		if last, ok := periodic.Last(); ok {
			go show(last) // Send waits for the program to start
		}
		periodic.OnRun(show)
	}
	return runInspector(ctx, inspector, func(ctx context.Context) error {
		return server.Run(ctx, log, ln, local, pub, public)
	})
}

// listen opens addr; an address in use says how to choose another.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: the address is in use (another clerk-sync, or your app?); choose another with --addr, e.g. --addr localhost:8081: %w", addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// unknownCommand refuses arguments to the root command, which takes none:
// they are a mistyped sub-command, and the nearest one is suggested.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if near := cmd.SuggestionsFor(args[0]); len(near) > 0 {
		msg += "; did you mean " + strings.Join(near, " or ") + "?"
	} else {
		msg += "; see " + cmd.CommandPath() + " --help"
	}
	return usageError{errors.New(msg)}
}

// runInspector serves while the inspector runs: quitting it stops the
// server (which drains), and a server that fails quits it.
func runInspector(parent context.Context, p *tea.Program, serve func(context.Context) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		err := serve(ctx)
		if err != nil {
			p.Quit()
		}
		served <- err
	}()
	_, err := p.Run()
	cancel()
	serr := <-served
	if errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrProgramPanic) && parent.Err() != nil {
		err = nil // SIGINT/SIGTERM: a normal stop
	}
	return errors.Join(serr, err)
}

// openLogFile opens the log of an inspector session: clerk-sync.log in the
// toolkit's cache directory.
func openLogFile() (*os.File, string, error) {
	dir, err := config.CacheDir()
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "clerk-sync.log")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("open the log file: %w", err)
	}
	return f, path, nil
}

// kindColumns names the columns of the organizations' and memberships'
// tables that m keeps, for the inspector.
func kindColumns(m mapping.Mapping) map[store.Kind]map[string]string {
	cols := map[store.Kind]map[string]string{}
	for _, p := range m.Others {
		cols[p.EntityKind()] = p.ColumnNames()
	}
	return cols
}

// subscribeTo lists the event types that Clerk's endpoint must send for
// the kinds m syncs.
func subscribeTo(m mapping.Mapping) []string {
	var types []string
	for _, p := range m.Projections() {
		for _, t := range []string{clerk.UserCreated, clerk.UserUpdated, clerk.UserDeleted,
			clerk.OrganizationCreated, clerk.OrganizationUpdated, clerk.OrganizationDeleted,
			clerk.MembershipCreated, clerk.MembershipUpdated, clerk.MembershipDeleted} {
			if k, _, _ := clerk.KindOf(t); k == p.EntityKind() {
				types = append(types, t)
			}
		}
	}
	return types
}

// public sets up the tunnel: the token, the domain, the edge policy, and
// what to print once it is up; local says the secret was generated on this
// machine.
func (f *serveFlags) public(env *config.Env, secret webhook.Secret, local bool, m mapping.Mapping, log *slog.Logger, stdout io.Writer, emit func(any)) (*server.Public, error) {
	required := f.tunnel.value == "on"
	token, _ := env.Lookup("NGROK_AUTHTOKEN")
	if token == "" {
		if required {
			return nil, fmt.Errorf("--tunnel: %w", tunnel.ErrNoToken)
		}
		log.Info("the tunnel is off: no NGROK_AUTHTOKEN; serving locally only", "how", tunnel.ErrNoToken.Error())
		return nil, nil
	}
	n := &tunnel.Ngrok{Token: token, Domain: f.domain, Timeout: f.tunnelTimeout}
	if log.Enabled(context.Background(), slog.LevelDebug) {
		// ngrok's own lines repeat what the statuses below say.
		n.Log = log.With("component", "ngrok")
	}
	if f.edgeVerify {
		if local {
			return nil, fmt.Errorf("--edge-verify: the signing secret %s was generated on this machine; ngrok would refuse every real delivery from Clerk with it. Put the secret Clerk shows for the endpoint in CLERK_WEBHOOK_SIGNING_SECRET", secret.Fingerprint())
		}
		n.Policy = tunnel.ClerkPolicy(secret.Reveal())
	}
	var (
		mu   sync.Mutex
		last tunnel.State
	)
	return &server.Public{
		Opener:   newOpener(n),
		Required: required,
		Status: func(s tunnel.Status) {
			mu.Lock()
			defer mu.Unlock()
			if emit != nil {
				emit(tunnelLine{Time: s.At.UTC(), Tunnel: string(s.State), URL: s.URL, Code: s.Code, Error: s.Err,
					LatencyMS: ms(s.Latency)})
			}
			switch {
			case s.State == tunnel.Connected && s.State == last && s.Latency > 0:
				log.Debug("tunnel heartbeat", "url", s.URL, "latency_ms", ms(s.Latency))
			case s.Err != "":
				log.Warn("tunnel", "state", s.State, "code", s.Code, "err", s.Err)
			default:
				log.Info("tunnel", "state", s.State, "url", s.URL)
			}
			last = s.State
		},
		Up: func(base string) {
			fmt.Fprintf(stdout, `clerk-sync: tunnel up. In Clerk's Dashboard → Webhooks → Add endpoint:
  Endpoint URL     %s%s
  Subscribe to     %s
  Signing Secret   copy it into .env.local as CLERK_WEBHOOK_SIGNING_SECRET=whsec_… and restart clerk-sync
`, base, f.path, strings.Join(subscribeTo(m), ", "))
			if local {
				fmt.Fprintf(stdout, "clerk-sync: warning: the signing secret %s was generated on this machine (mockclerk secret); Clerk cannot know it, so its deliveries will be refused as bad-signature until you use the endpoint's own secret\n", secret.Fingerprint())
			}
		},
	}, nil
}

// ndjson writes one JSON object per line to w, from any goroutine.
func ndjson(w io.Writer) func(v any) {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	return func(v any) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(v) //nolint:errcheck // stdout gone: nothing to tell
	}
}

// observer reports each delivery: a log line, or with --output ndjson a
// JSON object through emit.
func (f *serveFlags) observer(log *slog.Logger, emit func(any)) func(webhook.Report) {
	if emit == nil {
		return func(r webhook.Report) { logDelivery(log, r) }
	}
	return func(r webhook.Report) {
		emit(deliveryLine{
			Time: r.Received.UTC(), SvixID: r.SvixID, Type: r.EventType, ID: r.ID, UserID: r.UserID, Verified: r.Verified,
			Outcome: r.Outcome, Reason: r.Reason, Error: r.Error, Status: r.Status,
			LatencyMS: ms(r.Latency),
		})
	}
}

// tunnelLine is a change of the tunnel's state in --output ndjson.
type tunnelLine struct {
	Time      time.Time `json:"time"`
	Tunnel    string    `json:"tunnel"` // the state
	URL       string    `json:"url,omitempty"`
	Code      string    `json:"code,omitempty"`
	Error     string    `json:"error,omitempty"`
	LatencyMS float64   `json:"latency_ms,omitempty"`
}

// deliveryLine is one delivery in --output ndjson.
type deliveryLine struct {
	Time      time.Time `json:"time"`
	SvixID    string    `json:"svix_id,omitempty"`
	Type      string    `json:"type,omitempty"`
	ID        string    `json:"id,omitempty"` // the entity's Clerk id: a user's, an organization's or a membership's
	UserID    string    `json:"user_id,omitempty"`
	Verified  bool      `json:"verified"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	Error     string    `json:"error,omitempty"`
	Status    int       `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
}

// logDelivery writes the one line per delivery of headless mode.
func logDelivery(log *slog.Logger, r webhook.Report) {
	attrs := []any{
		"status", r.Status, "outcome", r.Outcome, "type", r.EventType, "id", r.ID, "user_id", r.UserID,
		"svix_id", r.SvixID, "latency_ms", ms(r.Latency),
	}
	level := slog.LevelInfo
	if r.Reason != "" {
		attrs = append(attrs, "reason", r.Reason, "error", r.Error)
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "delivery", attrs...)
}

// newLogger builds the one logger of the process; format and level are
// already checked by their flags.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level)) //nolint:errcheck // one of the choice's values
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ms is d in milliseconds with microsecond precision, as the log and the
// ndjson stream give latencies.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
