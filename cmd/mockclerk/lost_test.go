package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/buildtest"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testSecret = "whsec_" + "bW9ja2NsZXJrLWVuZC10by1lbmQtdGVzdC1zZWNyZXQ="

// setup gives the test its own working directory, secret and state file.
func setup(t *testing.T) string {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", testSecret)
	t.Setenv("CLERK_WEBHOOK_SECRET", "")
	t.Setenv("MOCKCLERK_STATE", filepath.Join(dir, "state.json"))
	t.Setenv("CLERK_SYNC_CACHE_DIR", filepath.Join(dir, "cache"))
	return dir
}

// mockclerk runs the command and returns its exit code, stdout and stderr.
func mockclerk(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// ndjson decodes --output ndjson.
func ndjson(t *testing.T, out string) []line {
	t.Helper()
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader([]byte(out)))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// checkExactlyOnce checks that every delivery ended 200 applied, that the
// table holds exactly their users, and that the ledger applied each once.
func checkExactlyOnce(t *testing.T, st store.Store, lines []line, n int) {
	t.Helper()
	if len(lines) != n {
		t.Fatalf("%d results, want %d", len(lines), n)
	}
	retried := 0
	want := map[string]bool{}
	for _, l := range lines {
		if l.Status != 200 || (l.Outcome != "applied" && l.Outcome != "duplicate") {
			t.Errorf("%s ended %d %s", l.SvixID, l.Status, l.Outcome)
		}
		if l.Attempts > 1 {
			retried++
		}
		want[l.UserID] = true
		rec, err := st.Delivery(context.Background(), l.SvixID)
		if err != nil || rec.Outcome != store.Applied || rec.UserID != l.UserID {
			t.Errorf("ledger for %s: %+v %v, want applied", l.SvixID, rec, err)
		}
	}
	if retried == 0 {
		t.Error("no delivery was retried: the outage missed the run")
	}
	users, err := st.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(want) {
		t.Errorf("%d rows, want %d", len(users), len(want))
	}
	for _, u := range users {
		if !want[u.ID] {
			t.Errorf("unexpected row %s", u.ID)
		}
	}
	t.Logf("%d deliveries, %d retried, %d rows", n, retried, len(users))
}

// With --retry fast, a database stopped mid-run and started again loses
// nothing: the receiver answers 503 meanwhile, and mockclerk retries.
func TestNothingLostWhenTheDatabaseStops(t *testing.T) {
	setup(t)
	cluster := pgtest.Own(t)
	url, err := cluster.CreateDatabase(context.Background(), "lost")
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := server.OpenStore(context.Background(), url, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret, _ := webhook.ParseSecret(testSecret)
	h, _, err := server.Handlers(server.Config{Path: "/hook", Secret: secret}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	const n = 300
	finish := sendWithRetries(n, srv.URL+"/hook")
	waitRows(t, st, 50) // the outage starts mid-run, whatever the machine's speed
	if err := cluster.Halt(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cluster.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, out, log := finish()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, log)
	}
	checkExactlyOnce(t, st, ndjson(t, out), n)
}

// sendWithRetries starts `mockclerk send` of n user.created at 150/s with
// --retry fast; finish waits for it and returns its exit code and output.
func sendWithRetries(n int, url string) (finish func() (int, string, string)) {
	var (
		code     int
		out, log string
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		code, out, log = mockclerk(context.Background(), "send", "user.created", "--count", strconv.Itoa(n),
			"--concurrency", "4", "--rate", "150/s", "--retry", "fast", "--output", "ndjson", "--to", url)
	})
	return func() (int, string, string) {
		wg.Wait()
		return code, out, log
	}
}

// With --retry fast, a receiver killed with SIGKILL mid-run and started
// again loses nothing, on either store.
func TestNothingLostWhenTheReceiverIsKilled(t *testing.T) {
	bin := buildtest.Build(t, buildtest.Sync, "clerk-sync")
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			dir := setup(t)
			db := filepath.Join(dir, "users.db")
			if name == "postgres" {
				db = pgtest.URL(t)
			}
			addr := pgtest.FreeAddr(t)
			start := func() *exec.Cmd {
				cmd := exec.Command(bin, "--addr", addr, "--db", db, "--log-level", "warn")
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				waitReady(t, "http://"+addr)
				return cmd
			}
			first := start()

			const n = 300
			finish := sendWithRetries(n, "http://"+addr+"/api/webhooks/clerk")
			watch, _, err := server.OpenView(context.Background(), db, mapping.Default()) // read-only beside the receiver
			if err != nil {
				t.Fatal(err)
			}
			waitRows(t, watch, 50)
			watch.Close()
			first.Process.Signal(syscall.SIGKILL)
			first.Wait()
			time.Sleep(700 * time.Millisecond)
			second := start()
			code, out, log := finish()
			second.Process.Signal(syscall.SIGTERM)
			second.Wait()
			if code != 0 {
				t.Fatalf("exit %d: %s", code, log)
			}
			st, _, err := server.OpenStore(context.Background(), db, mapping.Default())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			checkExactlyOnce(t, st, ndjson(t, out), n)
		})
	}
}

// waitRows waits until st holds at least n users.
func waitRows(t *testing.T, st store.View, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if users, err := st.Users(context.Background()); err == nil && len(users) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fewer than %d rows after 30s", n)
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", base)
}
