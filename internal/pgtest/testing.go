package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// startTimeout bounds starting the shared cluster, which no test's context
// governs.
const startTimeout = 2 * time.Minute

// shared is the per-process cluster behind URL, started by the first test
// that needs it and stopped by Main.
var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// Main is called from a package's TestMain: it runs the tests, stops the
// shared cluster if one was started, and exits with the tests' code.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if c := shared.cluster; c != nil {
		if err := c.Stop(); err != nil {
			slog.Error("pgtest: stop the shared cluster", "err", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// URL returns the URL of a fresh, empty database for this test, dropped when
// the test ends. The database lives on TEST_DATABASE_URL's server when that
// variable is set, and otherwise on a throwaway cluster shared by the tests
// of this process (the package's TestMain must call Main to stop it).
//
// Without PostgreSQL the test is skipped with a loud message, or fails when
// the CI environment variable is set.
func URL(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, "")
}

// URLWithICULocale is URL for a database whose default collation is the
// ICU locale's (say "en-US"): text sorts as people read it, not byte by
// byte as on the clusters of Start, which initdb makes with the C locale.
// It skips or fails like URL when the server cannot do it (PostgreSQL
// before 15, or built without ICU).
func URLWithICULocale(tb testing.TB, locale string) string {
	tb.Helper()
	// template0, because template1 may hold objects that depend on its
	// collation, which PostgreSQL then refuses to copy under another.
	return newDatabase(tb, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '"+strings.ReplaceAll(locale, "'", "''")+"'")
}

// newDatabase creates the database of URL and URLWithICULocale, with the
// CREATE DATABASE options given.
func newDatabase(tb testing.TB, options string) string {
	tb.Helper()
	adminURL := os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		shared.once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			defer cancel()
			shared.cluster, shared.err = Start(ctx, Options{})
		})
		if shared.err != nil {
			unavailable(tb, shared.err)
		}
		adminURL = shared.cluster.URL("postgres")
	}
	name := databaseName(tb)
	dbURL, err := createDatabase(tb.Context(), adminURL, name, options)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && options != "" &&
		(pgErr.Code == "0A000" || pgErr.Code == "42601") {
		// Feature not supported (no ICU in this build), or a syntax error:
		// a server older than the options. As unavailable: a skip on a
		// laptop, a failure in CI.
		if os.Getenv("CI") != "" {
			tb.Fatalf("pgtest: this server cannot make the database the test needs (CI is set): %v", err)
		}
		tb.Skipf("pgtest: SKIPPED, THIS POSTGRESQL CANNOT MAKE THE DATABASE: %v\n"+
			"\tICU collations need PostgreSQL 15 or later, built with ICU", err)
	}
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, adminURL, name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// Own starts a private cluster for one test and stops it when the test ends,
// for tests that halt or restart the server and so must not share it. It
// skips or fails like URL.
func Own(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := Start(tb.Context(), Options{})
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// unavailable ends a test that cannot get a database: a skip on a laptop,
// but a failure in CI, where a silently skipped store suite would pass.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("pgtest: PostgreSQL is required in CI (CI is set): %v", err)
	}
	tb.Skipf("pgtest: SKIPPED, NO POSTGRESQL: %v\n"+
		"\tinstall the PostgreSQL server (apt-get install postgresql) or set TEST_DATABASE_URL to run this test", err)
}

// databaseName is a unique database name that says which test made it;
// random rather than a counter because TEST_DATABASE_URL's server may serve
// several test processes at once.
func databaseName(tb testing.TB) string {
	test := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, tb.Name())
	// Identifiers are at most 63 bytes.
	test = test[:min(len(test), 40)]
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	return "test_" + test + "_" + hex.EncodeToString(suffix)
}

// FreeAddr is a 127.0.0.1 address with a port that nothing listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
