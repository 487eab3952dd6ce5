package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
)

// The receiver with --reconcile-every fills the table from the fake's
// Backend API in the background and logs a line per run.
func TestServeReconcilesEveryPeriod(t *testing.T) {
	dir := inTempDir(t)
	in := fakeclerk.NewInstance()
	in.Seed(30, 3)
	key := fakeclerk.NewSecretKey()
	srv := httptest.NewServer(fakeclerk.NewAPI(in, fakeclerk.APIOptions{Key: key}))
	t.Cleanup(srv.Close)
	env := "CLERK_WEBHOOK_SIGNING_SECRET=" + secret + "\nCLERK_SECRET_KEY=" + key + "\n"
	if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr safeBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--reconcile-every", "100ms", "--api-url", srv.URL, "--rate", "1000"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "msg=reconcile in_clerk=30 rows=0 missing=30 behind=0 gone=0 repaired=30") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no reconcile line:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for !strings.Contains(stderr.String(), "msg=reconcile in_clerk=30 rows=30 missing=0") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no second run:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	wantUsers(t, filepath.Join(dir, DefaultDB), in)
	if strings.Contains(stderr.String(), key) {
		t.Fatal("the secret key is in the log")
	}
}

// --reconcile-every refuses to start without what it needs, saying what.
func TestReconcileEveryRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		key  string
		want string
	}{
		{[]string{"--reconcile-every", "1h"}, "", "--reconcile-every: CLERK_SECRET_KEY (looked in the environment, .env.local and .env): bad Clerk secret key: none is set"},
		{[]string{"--reconcile-every", "1h"}, "pk_test_abcdefghijkl", "--reconcile-every: CLERK_SECRET_KEY (from environment): bad Clerk secret key: it must start with sk_test_ or sk_live_"},
		{[]string{"--reconcile-every", "-1h"}, "", "--reconcile-every must be positive (e.g. 6h), not -1h0m0s"},
		{[]string{"--reconcile-every", "1h", "--forward-to", "http://localhost:3000/hook"}, fakeclerk.NewSecretKey(), "--reconcile-every and --forward-to exclude each other"},
		{[]string{"--reconcile-every", "1h", "--rate", "0"}, fakeclerk.NewSecretKey(), "--rate must be positive, not 0"},
	} {
		dir := inTempDir(t)
		t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
		t.Setenv("CLERK_SECRET_KEY", tc.key)
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		code := run(ctx, append([]string{"--addr", "127.0.0.1:0"}, tc.args...), &stdout, &stderr)
		cancel()
		if code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, stderr.String(), tc.want)
		}
		if tc.key != "" && strings.Contains(stderr.String(), tc.key) {
			t.Errorf("%v: the key is in the error", tc.args)
		}
		if _, err := os.Stat(filepath.Join(dir, DefaultDB)); err == nil {
			t.Errorf("%v: a database was created before the settings were checked", tc.args)
		}
	}
}
