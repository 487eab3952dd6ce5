package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/tunnel"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// local replaces ngrok with a local listener for the test.
func local(t *testing.T) {
	old := newOpener
	newOpener = func(*tunnel.Ngrok) tunnel.Opener { return tunnel.Local{} }
	t.Cleanup(func() { newOpener = old })
}

// start runs the command until the test ends and returns its stdout
// lines as they come.
func start(t *testing.T, args ...string) (<-chan string, *safeBuffer, <-chan int) {
	ctx, cancel := context.WithCancel(context.Background())
	out, outW := io.Pipe()
	var stderr safeBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, outW, &stderr)
		outW.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("did not stop")
		}
	})
	return lines, &stderr, done
}

// safeBuffer is a bytes.Buffer that the test may read while the command
// writes.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// until reads lines until one contains want, and returns it.
func until(t *testing.T, lines <-chan string, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q", want)
		}
	}
}

// The whole tunnel path with a local listener: the URL to paste into
// Clerk is printed, deliveries through the tunnel are verified and
// applied, and nothing but the webhook path is served publicly.
func TestTunnelServesTheWebhookOnly(t *testing.T) {
	localSecretAndToken(t)
	local(t)
	lines, stderr, _ := start(t, "--addr", "127.0.0.1:0", "--tunnel")
	endpoint := strings.Fields(until(t, lines, "Endpoint URL"))[2]
	until(t, lines, "user.created, user.updated, user.deleted")
	until(t, lines, "generated on this machine")

	g := fake.New(1, time.Now())
	signer, _ := fake.NewSigner(secret)
	d, _ := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
	resp, err := fake.Post(context.Background(), http.DefaultClient, endpoint, d)
	if err != nil || resp.Status != 200 || resp.Outcome != "applied" {
		t.Fatalf("through the tunnel: %+v %v\n%s", resp, err, stderr.String())
	}
	base := strings.TrimSuffix(endpoint, "/api/webhooks/clerk")
	for _, path := range []string{"/healthz", "/readyz"} {
		r, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("%s on the tunnel: %d, want 404", path, r.StatusCode)
		}
	}
}

func TestTunnelWithoutToken(t *testing.T) {
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	t.Setenv("NGROK_AUTHTOKEN", "")
	var stdout, stderr bytes.Buffer
	began := time.Now()
	code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--tunnel"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no ngrok authtoken") || !strings.Contains(stderr.String(), "NGROK_AUTHTOKEN=") || time.Since(began) > 5*time.Second {
		t.Fatalf("exit %d after %s: %s", code, time.Since(began), stderr.String())
	}
	// With --tunnel=auto it goes on locally and says so.
	lines, logs, done := start(t, "--addr", "127.0.0.1:0", "--tunnel=auto")
	until(t, lines, "clerk-sync: POST")
	time.Sleep(200 * time.Millisecond)
	select {
	case c := <-done:
		t.Fatalf("exited %d", c)
	default:
	}
	if !strings.Contains(logs.String(), "the tunnel is off") {
		t.Fatalf("log: %s", logs.String())
	}
}

func TestEdgeVerifyRefusesALocalSecret(t *testing.T) {
	localSecretAndToken(t)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--tunnel", "--edge-verify"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "generated on this machine") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// --forward-to relays to the app and opens no database.
func TestForwardTo(t *testing.T) {
	dir := inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	var (
		got       []byte
		gotHeader http.Header
	)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		gotHeader = r.Header.Clone()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer app.Close()
	lines, _, _ := start(t, "--addr", "127.0.0.1:0", "--forward-to", app.URL+"/api/webhooks/clerk")
	url := strings.Fields(until(t, lines, "clerk-sync: POST"))[2]
	g := fake.New(2, time.Now())
	signer, _ := fake.NewSigner(secret)
	d, _ := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
	resp, err := fake.Post(context.Background(), http.DefaultClient, url, d)
	if err != nil || resp.Status != http.StatusAccepted || !bytes.Equal(got, d.Body) {
		t.Fatalf("relayed: %+v %v", resp, err)
	}
	for _, name := range []string{"svix-id", "svix-timestamp", "svix-signature", "Content-Type"} {
		if gotHeader.Get(name) != d.Header.Get(name) {
			t.Errorf("%s reached the app as %q, sent %q", name, gotHeader.Get(name), d.Header.Get(name))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultDB)); err == nil {
		t.Fatal("relay mode created a database")
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--forward-to", "localhost:3000"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "want an http:// or https:// URL") {
		t.Fatalf("bad --forward-to: exit %d %s", code, stderr.String())
	}
}

// --output ndjson prints one JSON object per delivery on stdout.
func TestOutputNDJSON(t *testing.T) {
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	addr := pgtest.FreeAddr(t)
	lines, _, _ := start(t, "--addr", addr, "--output", "ndjson")
	url := "http://" + addr + "/api/webhooks/clerk"
	g := fake.New(3, time.Now())
	signer, _ := fake.NewSigner(secret)
	d, _ := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := fake.Post(context.Background(), http.DefaultClient, url, d); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	line := <-lines // the first line on stdout is the delivery
	var got deliveryLine
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if got.Outcome != "applied" || got.Status != 200 || !got.Verified || got.Type != "user.created" || got.UserID != d.Event.UserID || got.ID != d.Event.UserID {
		t.Fatalf("line %+v", got)
	}
}

// A shutdown lets a delivery in flight finish and answer before exiting.
func TestShutdownDrainsDeliveriesInFlight(t *testing.T) {
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	arrived := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		time.Sleep(500 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	}))
	defer app.Close()
	addr := pgtest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--addr", addr, "--forward-to", app.URL}, &stdout, &stderr) }()

	g := fake.New(4, time.Now())
	signer, _ := fake.NewSigner(secret)
	d, _ := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
	answered := make(chan int, 1)
	go func() {
		for {
			resp, err := fake.Post(context.Background(), http.DefaultClient, "http://"+addr+"/api/webhooks/clerk", d)
			if err == nil {
				answered <- resp.Status
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	<-arrived
	cancel() // SIGINT/SIGTERM do this through signal.NotifyContext
	if status := <-answered; status != http.StatusOK {
		t.Fatalf("the delivery in flight got %d", status)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// The tunnel's state changes join the ndjson stream.
func TestTunnelStatesInNDJSON(t *testing.T) {
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	t.Setenv("NGROK_AUTHTOKEN", "test-token")
	local(t)
	lines, _, _ := start(t, "--addr", "127.0.0.1:0", "--tunnel", "--output", "ndjson")
	for _, want := range []string{`"tunnel":"connecting"`, `"tunnel":"connected"`} {
		line := until(t, lines, want)
		var got tunnelLine
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
}

// localSecretAndToken runs the test in an empty directory whose signing
// secret was generated on this machine, with an ngrok token set.
func localSecretAndToken(t *testing.T) {
	t.Helper()
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	t.Setenv("NGROK_AUTHTOKEN", "test-token")
	s, _ := webhook.ParseSecret(secret)
	if err := config.RememberLocalSecret(s.Fingerprint()); err != nil {
		t.Fatal(err)
	}
}
