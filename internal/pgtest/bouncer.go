package pgtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ErrNoPgBouncer means that the pgbouncer program is not installed.
var ErrNoPgBouncer = errors.New("no pgbouncer program (on Debian: apt-get install pgbouncer)")

// Bouncer starts PgBouncer in front of the server of dbURL (a URL of URL),
// pooling in transaction mode as the poolers of managed PostgreSQL do
// (Supabase's, Neon's), and returns the URL of the same database through
// it. PgBouncer stops when the test ends. Without pgbouncer the test is
// skipped, or fails when the CI environment variable is set.
func Bouncer(tb testing.TB, dbURL string) string {
	tb.Helper()
	through, stop, err := StartBouncer(dbURL, 4)
	if errors.Is(err, ErrNoPgBouncer) {
		if os.Getenv("CI") != "" {
			tb.Fatalf("pgtest: PgBouncer is required in CI (CI is set): %v", err)
		}
		tb.Skipf("pgtest: SKIPPED, NO PGBOUNCER: %v", err)
	}
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(stop)
	return through
}

// StartBouncer is Bouncer outside a test, with a pool of the given number
// of server connections: it returns the URL through PgBouncer and a
// function that stops it.
func StartBouncer(dbURL string, pool int) (through string, stop func(), err error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/pgbouncer") // Debian's, off a user's PATH
	}
	if err != nil {
		return "", nil, ErrNoPgBouncer
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", nil, fmt.Errorf("bouncer: %w", err)
	}
	own, err := serverOwner() // PgBouncer refuses to run as root, as postgres does
	if err != nil {
		return "", nil, fmt.Errorf("bouncer: %w", err)
	}
	dir, err := os.MkdirTemp("", "pgtest-bouncer-")
	if err != nil {
		return "", nil, fmt.Errorf("bouncer: %w", err)
	}
	fail := func(err error) (string, func(), error) {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("bouncer: %w", err)
	}
	if err := errors.Join(own.chown(dir), own.checkReachable(dir)); err != nil {
		return fail(err)
	}
	// PgBouncer takes its own clients on trust, on a Unix socket in dir
	// (no port that another process could take meanwhile), and logs in to
	// the server with the password of its user list: the URL's, if any.
	user := u.User.Username()
	password, _ := u.User.Password()
	const port = 6432 // names the socket: dir/.s.PGSQL.6432
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr =
listen_port = %d
unix_socket_dir = %s
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
`, u.Hostname(), u.Port(), port, dir, filepath.Join(dir, "users.txt"), pool)
	for name, text := range map[string]string{"pgbouncer.ini": ini, "users.txt": authQuote(user) + " " + authQuote(password) + "\n"} {
		path := filepath.Join(dir, name)
		if err := errors.Join(os.WriteFile(path, []byte(text), 0o600), own.chown(path)); err != nil {
			return fail(err)
		}
	}
	// Its output goes to a file, read when it fails to start.
	logPath := filepath.Join(dir, "pgbouncer.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	output := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, serverEnv(), logFile, logFile
	own.apply(cmd)
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("start pgbouncer: %w", err))
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
		os.RemoveAll(dir)
	}
	socket := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("unix", socket, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			err := fmt.Errorf("pgbouncer exited (%v):\n%s", waitErr, output())
			stop()
			return "", nil, err
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("pgbouncer did not listen on %s within 10 s:\n%s", socket, output())
			stop()
			return "", nil, err
		}
	}
	// The URL through it, made afresh: none of dbURL's host, port or TLS
	// settings may lead around it.
	u2 := url.URL{Scheme: "postgres", User: u.User, Path: u.Path,
		RawQuery: url.Values{"host": {dir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}.Encode()}
	return u2.String(), stop, nil
}

// authQuote quotes a field of PgBouncer's auth_file: in double quotes, a
// double quote doubled.
func authQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
