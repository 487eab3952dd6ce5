package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// DefaultDB is the SQLite file used when no database is named.
const DefaultDB = "clerk-sync.db"

// serveFlags are the settings of the receiver; envVars names the variable
// that stands in for each flag left unset.
type serveFlags struct {
	addr      string
	db        string
	path      string
	secret    string
	maxBody   int64
	onDelete  *choice
	logFormat *choice
	logLevel  *choice
}

var envVars = map[string]string{
	"addr":       "CLERK_SYNC_ADDR",
	"db":         "DATABASE_URL",
	"path":       "CLERK_SYNC_PATH",
	"max-body":   "CLERK_SYNC_MAX_BODY",
	"on-delete":  "CLERK_SYNC_ON_DELETE",
	"log-format": "CLERK_SYNC_LOG_FORMAT",
	"log-level":  "CLERK_SYNC_LOG_LEVEL",
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	f := serveFlags{
		onDelete:  newChoice(string(store.HardDelete), string(store.HardDelete), string(store.SoftDelete)),
		logFormat: newChoice("text", "text", "json"),
		logLevel:  newChoice("info", "debug", "info", "warn", "error"),
	}
	cmd := &cobra.Command{
		Use:   "clerk-sync",
		Short: "Keep a users table in step with Clerk's user webhooks",
		Long: `clerk-sync receives Clerk's user.created, user.updated and user.deleted webhooks,
verifies each delivery's Svix signature, and writes the users into PostgreSQL or
an embedded SQLite file — correctly under duplicates, any delivery order and
several replicas.

Every flag can also come from the environment (or .env.local, then .env, in the
working directory). The signing secret comes from --secret, else
CLERK_WEBHOOK_SIGNING_SECRET, else CLERK_WEBHOOK_SECRET.`,
		Example: `  # SQLite file clerk-sync.db in this directory, secret from .env.local
  clerk-sync

  # PostgreSQL, JSON logs
  DATABASE_URL=postgres://app@localhost/app clerk-sync --log-format json

  # Then point Clerk (Dashboard → Webhooks) or mockclerk at
  #   http://localhost:8080/api/webhooks/clerk`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, &f, stdout, stderr)
		},
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "localhost:8080", "listen address [CLERK_SYNC_ADDR]")
	fl.StringVar(&f.db, "db", DefaultDB, "database: a SQLite file, or a postgres:// URL [DATABASE_URL]")
	fl.StringVar(&f.path, "path", "/api/webhooks/clerk", "webhook path [CLERK_SYNC_PATH]")
	fl.StringVar(&f.secret, "secret", "", "Svix signing secret, whsec_… (prefer CLERK_WEBHOOK_SIGNING_SECRET: flags show in ps)")
	fl.Int64Var(&f.maxBody, "max-body", webhook.DefaultMaxBody, "largest accepted body in bytes [CLERK_SYNC_MAX_BODY]")
	fl.Var(f.onDelete, "on-delete", `what user.deleted does: "hard" deletes the row, "soft" sets deletedAt [CLERK_SYNC_ON_DELETE]`)
	fl.Var(f.logFormat, "log-format", "log format: text or json [CLERK_SYNC_LOG_FORMAT]")
	fl.Var(f.logLevel, "log-level", "log level: debug, info, warn or error [CLERK_SYNC_LOG_LEVEL]")
	return cmd
}

func serve(cmd *cobra.Command, f *serveFlags, stdout, stderr io.Writer) error {
	ctx := cmd.Context()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	env, err := config.LoadEnv(wd)
	if err != nil {
		return err
	}
	if err := env.ApplyFlags(cmd.Flags(), envVars); err != nil {
		return err
	}
	log := newLogger(stderr, f.logFormat.value, f.logLevel.value)
	mode := store.DeleteMode(f.onDelete.value)
	if f.maxBody <= 0 {
		return fmt.Errorf("--max-body must be positive, not %d", f.maxBody)
	}
	if !strings.HasPrefix(f.path, "/") {
		return fmt.Errorf("--path must start with /, not %q", f.path)
	}
	rawSecret, source := env.Secret(f.secret)
	secret, err := webhook.ParseSecret(rawSecret)
	if err != nil {
		if source != "" {
			return fmt.Errorf("signing secret from %s: %w", source, err)
		}
		return fmt.Errorf("no signing secret: %w", err)
	}

	st, desc, err := server.OpenStore(ctx, f.db, mode)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer st.Close()
	h, err := server.Handler(server.Config{
		Path: f.path, Secret: secret, MaxBody: f.maxBody, Log: log,
		Observe: func(r webhook.Report) { logDelivery(log, r) },
	}, st)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	url := "http://" + ln.Addr().String() + f.path
	log.Info("clerk-sync listening", "webhook_url", url, "database", desc, "secret", secret, "secret_from", source, "on_delete", mode)
	fmt.Fprintf(stdout, "clerk-sync: POST %s  (database: %s)\n", url, desc)
	return server.Serve(ctx, ln, h, log)
}

// logDelivery writes the one line per delivery of headless mode.
func logDelivery(log *slog.Logger, r webhook.Report) {
	attrs := []any{
		"status", r.Status, "outcome", r.Outcome, "type", r.EventType, "user_id", r.UserID,
		"svix_id", r.SvixID, "latency_ms", float64(r.Latency.Microseconds()) / 1000,
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
