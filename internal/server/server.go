// Package server assembles the sync receiver: it opens the store that the
// database URL names, mounts the webhook handler beside the health
// endpoints, and serves until its context ends, then drains.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/syncer"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// DrainTimeout bounds how long a shutdown waits for in-flight deliveries.
const DrainTimeout = 20 * time.Second

// OpenStore opens PostgreSQL for a postgres:// or postgresql:// URL and
// SQLite for anything else (a file path, file: or sqlite: URL). It returns
// a description of the database that never includes a password.
func OpenStore(ctx context.Context, dsn string, mode store.DeleteMode) (store.Store, string, error) {
	if IsPostgres(dsn) {
		st, err := postgres.Open(ctx, dsn, mode)
		if err != nil {
			return nil, "", err
		}
		return st, "postgres " + redact(dsn), nil
	}
	st, err := sqlite.Open(ctx, dsn, mode)
	if err != nil {
		return nil, "", err
	}
	return st, "sqlite " + st.Path(), nil
}

// IsPostgres reports whether dsn names a PostgreSQL server.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func redact(dsn string) string {
	i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@")
	if i < 0 || j < i {
		return dsn
	}
	user, _, _ := strings.Cut(dsn[i+3:j], ":")
	return dsn[:i+3] + user + "@" + dsn[j+1:]
}

// Config is what the receiver needs besides its store.
type Config struct {
	Path    string // the webhook path, e.g. /api/webhooks/clerk
	Secret  webhook.Secret
	MaxBody int64
	Log     *slog.Logger
	Observe func(webhook.Report)
}

// Handler returns the receiver's routes: POST Path, GET /healthz (the
// process is up) and GET /readyz (the database answers).
func Handler(cfg Config, st store.Store) (http.Handler, error) {
	v, err := webhook.NewVerifier(cfg.Secret)
	if err != nil {
		return nil, err
	}
	wh := webhook.NewHandler(v, syncer.New(st), webhook.Options{MaxBody: cfg.MaxBody, Log: cfg.Log, Observe: cfg.Observe})
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, wh)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux, nil
}

// Serve answers on ln until ctx ends, then stops accepting and waits up to
// DrainTimeout for the deliveries in flight to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down, draining deliveries in flight", "timeout", DrainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
