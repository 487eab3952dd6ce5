package pgtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// connect opens a connection that the test closes when it ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	began := time.Now()
	c, err := Start(ctx, Options{Settings: map[string]string{"max_connections": "42"}})
	if err != nil {
		unavailable(t, err)
	}
	t.Logf("Start took %v (bin dir %s)", time.Since(began).Round(time.Millisecond), c.BinDir())
	t.Cleanup(func() { _ = c.Stop() })

	alpha, err := c.CreateDatabase(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	beta, err := c.CreateDatabase(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDatabase(ctx, "alpha"); err == nil {
		t.Error("creating alpha twice succeeded")
	}

	a := connect(t, alpha)
	var maxConns string
	if err := a.QueryRow(ctx, "SHOW max_connections").Scan(&maxConns); err != nil {
		t.Fatal(err)
	}
	if maxConns != "42" {
		t.Errorf("max_connections = %s, want the 42 of Options.Settings", maxConns)
	}
	mustExec(t, a, "CREATE TABLE kept (v int)")
	mustExec(t, a, "INSERT INTO kept VALUES (7)")

	var found *string
	if err := connect(t, beta).QueryRow(ctx, "SELECT to_regclass('kept')::text").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != nil {
		t.Errorf("table of alpha visible in beta as %s", *found)
	}

	if err := c.Halt(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Ping(ctx); err == nil {
		t.Error("open connection still works after Halt")
	}
	if conn, err := pgx.Connect(ctx, alpha); err == nil {
		conn.Close(ctx)
		t.Error("new connection works after Halt")
	}

	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	wantKept(t, alpha)

	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	wantKept(t, alpha)

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s after Stop: %v, want it gone", c.root, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := c.Resume(ctx); err == nil {
		t.Error("Resume after Stop succeeded")
	}
}

// wantKept checks that the row written before the server went down is back.
func wantKept(t *testing.T, url string) {
	t.Helper()
	var v int
	if err := connect(t, url).QueryRow(t.Context(), "SELECT v FROM kept").Scan(&v); err != nil {
		t.Fatalf("read back after the server came back: %v", err)
	}
	if v != 7 {
		t.Errorf("kept = %d, want 7", v)
	}
}

func TestStartFailureShowsServerLog(t *testing.T) {
	t.Parallel()
	if _, err := findBinDir(); err != nil {
		unavailable(t, err)
	}
	c, err := Start(t.Context(), Options{Settings: map[string]string{"no_such_setting": "1"}})
	if err == nil {
		_ = c.Stop()
		t.Fatal("Start with an unknown setting succeeded")
	}
	if !strings.Contains(err.Error(), `unrecognized configuration parameter "no_such_setting"`) {
		t.Errorf("error does not carry the server log: %v", err)
	}
}

func TestNoBinaries(t *testing.T) {
	_, err := firstWithPrograms([]string{t.TempDir()})
	if !errors.Is(err, ErrNoPostgres) {
		t.Errorf("err = %v, want ErrNoPostgres", err)
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	first, second := URL(t), URL(t)
	if first == second {
		t.Fatalf("URL gave %s twice", first)
	}
	mustExec(t, connect(t, first), "CREATE TABLE only_first (v int)")
	var tables int
	if err := connect(t, second).QueryRow(t.Context(),
		"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("fresh database holds %d tables, want none", tables)
	}
}

// An ICU database sorts letters before case, where the C locale of
// URL's databases compares bytes: 'B' (66) before 'a' (97).
func TestURLWithICULocale(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		url    string
		aFirst bool
	}{
		{"C", URL(t), false},
		{"en-US", URLWithICULocale(t, "en-US"), true},
	} {
		var aFirst bool
		if err := connect(t, tt.url).QueryRow(t.Context(), "SELECT 'a' < 'B'").Scan(&aFirst); err != nil {
			t.Fatal(err)
		}
		if aFirst != tt.aFirst {
			t.Errorf("%s: 'a' < 'B' is %t, want %t", tt.name, aFirst, tt.aFirst)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	t.Run("Mixed Case/and-punctuation_that_goes_on_and_on_and_on_for_ever", func(t *testing.T) {
		name := databaseName(t)
		if len(name) > 63 {
			t.Errorf("%s is %d bytes, more than an identifier may hold", name, len(name))
		}
		if !strings.HasPrefix(name, "test_testdatabasename_mixed_case_and_punct") {
			t.Errorf("name %s does not say which test made it", name)
		}
	})
}
