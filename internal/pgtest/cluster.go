// Package pgtest starts throwaway PostgreSQL servers from the installed
// binaries, for tests and benchmarks that need a real database. Tests use the
// helpers URL and Own; benchmarks and tools use Start directly.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres means the PostgreSQL server binaries (initdb, pg_ctl,
// postgres) are not installed where Start looks for them.
var ErrNoPostgres = errors.New("PostgreSQL server binaries not found")

// Options tune a cluster.
type Options struct {
	// Durable keeps fsync and synchronous_commit on (benchmarks). When false, fsync=off,
	// synchronous_commit=off, full_page_writes=off for fast tests.
	Durable bool
	// Settings are extra postgresql.conf settings, e.g. {"max_connections": "200"}.
	Settings map[string]string
	// Log, when set, receives progress lines.
	Log *slog.Logger
}

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	bin   string
	root  string // the temporary directory holding data/ and server.log
	data  string
	log   string
	port  int
	owner *owner // nil when the server runs as the current user
	opts  Options
	slog  *slog.Logger

	mu      sync.Mutex
	running bool
	stopped bool
}

// pgctlTimeout bounds how long pg_ctl waits for the server to start or stop.
const pgctlTimeout = 60 * time.Second

// startAttempts is how many free ports Start tries: the port is picked by
// listening on :0 and closing, so another process may take it before the
// server binds it.
const startAttempts = 3

// Start creates a cluster in a new directory under os.TempDir() (named
// clerk-sync-pg-*) and starts its server on a free port of 127.0.0.1. The
// caller must call Stop. When the binaries are missing the error wraps
// ErrNoPostgres.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	began := time.Now()
	logger := opts.Log
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	own, err := serverOwner()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "clerk-sync-pg-*")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c := &Cluster{
		bin:   bin,
		root:  root,
		data:  filepath.Join(root, "data"),
		log:   filepath.Join(root, "server.log"),
		owner: own,
		opts:  opts,
		slog:  logger,
	}
	if err := c.create(ctx); err != nil {
		c.discard()
		return nil, err
	}
	if err := c.startOnFreePort(ctx); err != nil {
		c.discard()
		return nil, err
	}
	logger.Info("postgres started", "bin_dir", bin, "dir", root, "port", c.port, "took", time.Since(began).Round(time.Millisecond))
	return c, nil
}

// create runs initdb and points postgresql.conf at our settings file.
func (c *Cluster) create(ctx context.Context) error {
	if err := c.owner.chown(c.root); err != nil {
		return fmt.Errorf("hand cluster directory to the postgres user: %w", err)
	}
	if err := c.owner.checkReachable(c.root); err != nil {
		return err
	}
	c.slog.Info("initdb", "dir", c.data)
	// --no-sync: the cluster is thrown away, and syncing the fresh files
	// costs more than the whole initdb on slow disks.
	_, err := c.run(ctx, "initdb", "-D", c.data, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	conf := filepath.Join(c.data, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, err = io.WriteString(f, "\ninclude 'pgtest.conf'\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	return nil
}

// startOnFreePort picks a port, writes the settings and starts the server,
// trying another port when the picked one was taken meanwhile.
func (c *Cluster) startOnFreePort(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return err
		}
		c.port = port
		if err := c.writeSettings(); err != nil {
			return err
		}
		serverLog, err := c.start(ctx)
		if err == nil {
			return nil
		}
		if attempt == startAttempts || !strings.Contains(serverLog, "could not bind") {
			return err
		}
		c.slog.Info("port taken, trying another", "port", port)
	}
}

// writeSettings writes pgtest.conf, which postgresql.conf includes last so
// that these settings win.
func (c *Cluster) writeSettings() error {
	settings := map[string]string{
		"port":                    strconv.Itoa(c.port),
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": "", // TCP only: no socket path length limits, no /var/run/postgresql
	}
	if !c.opts.Durable {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	maps.Copy(settings, c.opts.Settings)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(settings[k], "'", "''"))
	}
	path := filepath.Join(c.data, "pgtest.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write pgtest.conf: %w", err)
	}
	if err := c.owner.chown(path); err != nil {
		return fmt.Errorf("hand pgtest.conf to the postgres user: %w", err)
	}
	return nil
}

// start runs pg_ctl start. On failure it returns the server's log lines
// written by this attempt, which the error includes too.
func (c *Cluster) start(ctx context.Context) (string, error) {
	var offset int64
	if fi, err := os.Stat(c.log); err == nil {
		offset = fi.Size()
	}
	_, err := c.run(ctx, "pg_ctl", "-D", c.data, "-l", c.log, "-w",
		"-t", strconv.Itoa(int(pgctlTimeout.Seconds())), "start")
	if err != nil {
		serverLog := c.logSince(offset)
		return serverLog, fmt.Errorf("start postgres on port %d: %w\nserver log:\n%s", c.port, err, serverLog)
	}
	c.running = true
	return "", nil
}

// logSince returns the end of the server log from offset, at most 8 KiB.
func (c *Cluster) logSince(offset int64) string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	b = b[min(offset, int64(len(b))):]
	const limit = 8 << 10
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}

// halt runs pg_ctl stop in the given mode; c.mu must be held.
func (c *Cluster) halt(ctx context.Context, mode string) error {
	if !c.running {
		return nil
	}
	_, err := c.run(ctx, "pg_ctl", "-D", c.data, "-m", mode, "-w",
		"-t", strconv.Itoa(int(pgctlTimeout.Seconds())), "stop")
	if err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	c.running = false
	return nil
}

// discard gets rid of a cluster whose Start failed half-way.
func (c *Cluster) discard() {
	if c.running {
		_ = c.halt(context.Background(), "immediate")
	}
	if err := os.RemoveAll(c.root); err != nil {
		c.slog.Warn("remove cluster directory", "dir", c.root, "err", err)
	}
}

// run runs one of the PostgreSQL programs as the server's owner and returns
// its output; the error includes that output.
func (c *Cluster) run(ctx context.Context, program string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, program), args...)
	// The postgres user may not be allowed into our working directory.
	cmd.Dir = c.root
	cmd.Env = serverEnv()
	// pg_ctl leaves the server running with the log file as its output, but
	// do not hang on a pipe should something else hold it open.
	cmd.WaitDelay = 5 * time.Second
	c.owner.apply(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", program, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// serverEnv is our environment without the PG* variables, so that a
// developer's PGDATA, PGPORT or PGOPTIONS cannot redirect the server.
func serverEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG")
	})
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the URL of a database on this cluster, as the postgres
// superuser.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates an empty database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	return createDatabase(ctx, c.URL("postgres"), name, "")
}

// BinDir returns the directory of the PostgreSQL programs this cluster runs,
// so that a benchmark can run pgbench from the same installation.
func (c *Cluster) BinDir() string { return c.bin }

// Halt stops the server but keeps its data, so that a test can check how
// code behaves while the database is down. Resume or Restart brings it back.
// Halting a halted cluster does nothing.
func (c *Cluster) Halt(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("halt postgres: cluster is stopped")
	}
	if err := c.halt(ctx, "fast"); err != nil {
		return err
	}
	c.slog.Info("postgres halted", "port", c.port)
	return nil
}

// Resume starts a halted server again on the same port and data. Resuming a
// running cluster does nothing.
func (c *Cluster) Resume(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("resume postgres: cluster is stopped")
	}
	if c.running {
		return nil
	}
	if _, err := c.start(ctx); err != nil {
		return err
	}
	c.slog.Info("postgres resumed", "port", c.port)
	return nil
}

// Restart stops the server and starts it again on the same port and data,
// closing every connection on the way.
func (c *Cluster) Restart(ctx context.Context) error {
	if err := c.Halt(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := c.Resume(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// Stop stops the server and removes its directory. Stopping a stopped
// cluster does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgctlTimeout+5*time.Second)
	defer cancel()
	err := c.halt(ctx, "fast")
	if err != nil {
		// Removing the data under a live server would leave it running
		// without its files; kill it first.
		err = errors.Join(err, c.halt(ctx, "immediate"))
	}
	if rerr := os.RemoveAll(c.root); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove cluster directory: %w", rerr))
	}
	c.stopped = true
	c.slog.Info("postgres stopped", "dir", c.root)
	return err
}

// createDatabase connects to adminURL and creates the database name on the
// same server, with the CREATE DATABASE options given (say a locale), and
// returns adminURL with its database replaced.
func createDatabase(ctx context.Context, adminURL, name, options string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("create database %s: want a postgres:// URL, got %q", name, redact(adminURL))
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("create database %s: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, strings.TrimSpace("CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" "+options)); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// dropDatabase drops the database name, closing its remaining connections.
func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("drop database %s: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// redact hides the password of a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
