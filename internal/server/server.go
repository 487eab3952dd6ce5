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
	"path"
	"strings"
	"sync"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/syncer"
	"github.com/clerk-sync/clerk-sync/internal/tunnel"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// MaxHeaderBytes bounds a request's headers: a delivery's are well under
// 2 KiB, and the inspector keeps the headers of its last deliveries.
const MaxHeaderBytes = 16 << 10

// DrainTimeout bounds how long a shutdown waits for in-flight deliveries.
const DrainTimeout = 20 * time.Second

// OpenStore opens the database that dsn names (see ParseDatabase) for
// writing users through mapping m, and returns a description of it that
// never includes a password.
func OpenStore(ctx context.Context, dsn string, m mapping.Mapping) (store.Store, string, error) {
	db, err := ParseDatabase(dsn)
	if err == nil {
		err = db.CheckSchema(ctx)
	}
	if err != nil {
		return nil, "", err
	}
	var st store.Store
	if db.Postgres {
		st, err = postgres.Open(ctx, db.URL, m)
	} else {
		st, err = sqlite.Open(ctx, db.URL, m)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", db.Desc, err)
	}
	return st, db.Desc, nil
}

// OpenView opens the database that dsn names read-only, for showing the
// users table of mapping m that the app's own handler writes (relay mode).
func OpenView(ctx context.Context, dsn string, m mapping.Mapping) (store.View, string, error) {
	db, err := ParseDatabase(dsn)
	if err == nil {
		err = db.CheckSchema(ctx)
	}
	if err != nil {
		return nil, "", err
	}
	var v store.View
	if db.Postgres {
		v, err = postgres.OpenView(ctx, db.URL, m)
	} else {
		v, err = sqlite.OpenView(ctx, db.URL, m)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", db.Desc, err)
	}
	return v, db.Desc + " (read only)", nil
}

// Doctor checks the table of each kind that mapping m syncs (users, and
// organizations and memberships when mapped) in the database that dsn
// names, without changing anything, and returns the findings and a
// description of the database.
func Doctor(ctx context.Context, dsn string, m mapping.Mapping) ([]mapping.Finding, string, error) {
	db, err := ParseDatabase(dsn)
	if err == nil {
		err = db.CheckSchema(ctx)
	}
	if err != nil {
		return nil, "", err
	}
	driver := mapping.SQLite
	if db.Postgres {
		driver = mapping.Postgres
	}
	var findings []mapping.Finding
	projections := m.Projections()
	for _, p := range projections {
		var info mapping.TableInfo
		if db.Postgres {
			info, err = postgres.Inspect(ctx, db.URL, p)
		} else {
			info, err = sqlite.Inspect(ctx, db.URL, p)
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", db.Desc, err)
		}
		for _, f := range mapping.Check(p, driver, info) {
			if len(projections) > 1 {
				f.Table = p.QualifiedName()
			}
			findings = append(findings, f)
		}
	}
	return findings, db.Desc, nil
}

// Config is what the receiver needs besides its store.
type Config struct {
	Path    string // the webhook path, e.g. /api/webhooks/clerk
	Secret  webhook.Secret
	MaxBody int64
	// MaxInFlight bounds the bytes of bodies held at once (see
	// webhook.Options).
	MaxInFlight int64
	Observe     func(webhook.Report)
	// ForwardTo, when set, relays verified deliveries to the app's own
	// handler at this URL instead of writing users (no store needed).
	ForwardTo string
	// View, in relay mode, is the app's database: /readyz checks it.
	View store.View
}

// Handlers returns the receiver's routes. local serves POST Path, GET
// /healthz (the process is up) and GET /readyz (the database answers);
// public serves the webhook path alone, for the tunnel. In relay mode st
// may be nil.
func Handlers(cfg Config, st store.Store) (local, public http.Handler, err error) {
	v, err := webhook.NewVerifier(cfg.Secret)
	if err != nil {
		return nil, nil, err
	}
	opts := webhook.Options{MaxBody: cfg.MaxBody, MaxInFlight: cfg.MaxInFlight, Observe: cfg.Observe}
	var wh http.Handler
	if cfg.ForwardTo != "" {
		wh = webhook.NewRelay(v, cfg.ForwardTo, nil, opts)
	} else {
		wh = webhook.NewHandler(v, syncer.New(st), opts)
	}
	pub := http.NewServeMux()
	pub.Handle(cfg.Path, wh)
	mux := http.NewServeMux()
	mux.Handle(cfg.Path, wh)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	var db store.View = st
	if st == nil {
		db = cfg.View
	}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if db != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := db.Ping(ctx); err != nil {
				http.Error(w, "database unreachable", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	return noRedirect(mux), noRedirect(pub), nil
}

// noRedirect answers 404 to a path that is not clean ("//x", "/a/./b"),
// which http.ServeMux would redirect: Svix counts a redirect as a failed
// delivery, and the route serves one path only.
func noRedirect(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		if p != clean {
			http.NotFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Public is the tunnel side of Run.
type Public struct {
	Opener tunnel.Opener
	// Required makes a tunnel that cannot open stop Run with its error;
	// otherwise Run goes on serving locally.
	Required bool
	Status   func(tunnel.Status) // every change of the tunnel's state
	Up       func(url string)    // once the tunnel serves
}

// Run serves local on ln and, when pub is not nil, public on a tunnel,
// until ctx ends; then it drains both.
func Run(ctx context.Context, log *slog.Logger, ln net.Listener, local http.Handler, pub *Public, public http.Handler) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := Serve(ctx, ln, local, log); err != nil {
			cancel(err)
		}
	})
	if pub != nil {
		wg.Go(func() {
			status := pub.Status
			if status == nil {
				status = func(tunnel.Status) {}
			}
			tun, err := pub.Opener.Open(ctx, status)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil && pub.Required:
				cancel(fmt.Errorf("tunnel: %w", err))
				return
			case err != nil:
				log.Warn("the tunnel is off; serving locally only", "err", err)
				return
			}
			if pub.Up != nil {
				pub.Up(tun.URL())
			}
			if err := Serve(ctx, tun, public, log); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Serve answers on ln until ctx ends, then stops accepting and waits up to
// DrainTimeout for the deliveries in flight to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// The webhook handler sets a shorter deadline on each body; this
		// one bounds the rest.
		ReadTimeout:    30 * time.Second,
		MaxHeaderBytes: MaxHeaderBytes,
		IdleTimeout:    2 * time.Minute,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
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
