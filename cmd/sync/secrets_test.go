package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/inspect"
	"github.com/clerk-sync/clerk-sync/internal/leaktest"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

// Every output of a serving clerk-sync — the log at debug in both formats,
// ndjson, the tunnel's lines, the HTTP answers to deliveries applied and
// refused — is free of the planted secrets.
func TestNoSecretInServeOutput(t *testing.T) {
	pg := leaktest.WithPassword(pgtest.URL(t))
	tests := []struct {
		name, db string
		args     []string
	}{
		{"sqlite text", "file:./users.db", []string{"--log-format", "text"}},
		{"sqlite json ndjson tunnel", "file:./users.db", []string{"--log-format", "json", "--output", "ndjson", "--tunnel"}},
		{"postgres json", pg, []string{"--log-format", "json", "--tunnel"}},
		{"postgres text ndjson", pg, []string{"--log-format", "text", "--output", "ndjson"}},
		{"relay", "", []string{"--log-format", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := inTempDir(t)
			leaktest.Plant(t, dir, tt.db)
			local(t)
			args := append([]string{"--addr", "127.0.0.1:0", "--log-level", "debug", "--max-body", "4096"}, tt.args...)
			if tt.db == "" {
				app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					http.Error(w, "the app refuses", http.StatusInternalServerError)
				}))
				defer app.Close()
				args = append(args, "--forward-to", strings.Replace(app.URL, "://", "://relay:"+leaktest.URLPassword+"@", 1)+"/hook")
			}
			out := serveAndDeliver(t, args)
			leaktest.Check(t, "clerk-sync's output", out)
		})
	}
}

// serveAndDeliver runs clerk-sync with args, sends it deliveries of every
// kind, stops it, and returns everything it wrote and answered.
func serveAndDeliver(t *testing.T, args []string) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr safeBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	url := ""
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(stdout.String()+stderr.String(), "\n") {
			if rest, ok := strings.CutPrefix(l, "clerk-sync: POST "); ok {
				url = strings.Fields(rest)[0]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no start-up line:\n%s%s", stdout.String(), stderr.String())
		}
	}
	answers := deliverAll(t, url)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	return stdout.String() + stderr.String() + answers
}

// deliverAll sends url deliveries that are applied, duplicated, and
// refused for each reason, and reads the health endpoints; it returns
// every answer, headers included.
func deliverAll(t *testing.T, url string) string {
	t.Helper()
	g := fake.New(7, time.Now())
	signer, _ := fake.NewSigner(leaktest.Secret)
	forger, _ := fake.NewSigner(fake.NewSecret())
	u := g.NewUser()
	created, _ := g.Deliver(signer, g.Created(u), time.Now())
	updated, _ := g.Deliver(signer, g.Updated(u), time.Now())
	forged, _ := g.Deliver(forger, g.Updated(u), time.Now())
	stale, _ := g.Deliver(signer, g.Updated(u), time.Now().Add(-time.Hour))
	deleted, _ := g.Deliver(signer, g.Deleted(u), time.Now())
	var reqs []*http.Request
	for _, d := range []fake.Delivery{created, created, updated, forged, stale, deleted} {
		r, _ := d.Request(context.Background(), url)
		reqs = append(reqs, r)
	}
	for _, body := range [][]byte{[]byte("not json"), bytes.Repeat([]byte("x"), 5000)} {
		h, _ := signer.Sign("msg_planted_"+fmt.Sprint(len(body)), time.Now(), body)
		r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		r.Header = h
		reqs = append(reqs, r)
	}
	bare, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"data":{"id":"user_x"}}`))
	get, _ := http.NewRequest(http.MethodGet, url, nil)
	base := strings.TrimSuffix(url, "/api/webhooks/clerk")
	health, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
	ready, _ := http.NewRequest(http.MethodGet, base+"/readyz", nil)
	reqs = append(reqs, bare, get, health, ready)
	var b strings.Builder
	for _, r := range reqs {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatalf("%s %s: %v", r.Method, r.URL, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&b, "%s %v\n%s\n", resp.Status, resp.Header, body)
	}
	return b.String()
}

// No start-up error shows a planted secret, whatever is malformed.
func TestNoSecretInStartupErrors(t *testing.T) {
	broken := "CLERK_WEBHOOK_SIGNING_SECRET=" + leaktest.Secret + "\nNGROK_AUTHTOKEN=" + leaktest.NgrokToken + "\n"
	type startup struct {
		name          string
		local, dotenv string
		env           map[string]string
		args          []string
	}
	var tests []startup
	for name, body := range leaktest.BrokenEnvFiles() {
		tests = append(tests, startup{name: name + " in .env.local", local: body}, startup{name: name + " in .env", local: broken, dotenv: body})
	}
	tests = append(tests, []startup{
		{name: "secret not base64", local: "CLERK_WEBHOOK_SIGNING_SECRET=" + leaktest.Secret + "%%\n"},
		{name: "secret key for the signing secret", local: "CLERK_WEBHOOK_SIGNING_SECRET=" + leaktest.ClerkKey + "\n"},
		{name: "bad --secret", args: []string{"--secret", leaktest.Secret + "!"}},
		{name: "--secret without whsec_", args: []string{"--secret", leaktest.ClerkKey}},
		{name: "secret as an argument", args: []string{leaktest.Secret}},
		{name: "secret in a number flag", args: []string{"--max-body", leaktest.Secret}},
		{name: "secret in a boolean flag", args: []string{"--edge-verify=" + leaktest.Secret}},
		{name: "secret in a duration flag", args: []string{"--tunnel-timeout", leaktest.Secret}},
		{name: "mysql URL", local: broken, env: map[string]string{"DATABASE_URL": "mysql://app:" + leaktest.Password + "@db/app"}},
		{name: "postgres URL that does not parse", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + leaktest.Password + "@[db/app"}},
		{name: "postgres URL with a bad escape", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + leaktest.Password + "%zz@db/app"}},
		{name: "postgres URL with a bad parameter", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + leaktest.Password + "@127.0.0.1:1/app?sslmode=sometimes"}},
		{name: "postgres URL with a password parameter", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app@127.0.0.1:1/app?password=" + leaktest.Password + "&sslmode=sometimes"}},
		{name: "postgres unreachable", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + leaktest.Password + "@127.0.0.1:1/app?connect_timeout=2"}},
		{name: "postgres bad port", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + leaktest.Password + "@db:99999/app"}},
		{name: "bad --forward-to", local: broken, args: []string{"--forward-to", "ftp://relay:" + leaktest.URLPassword + "@app/hook"}},
		{name: "--edge-verify with a local secret", local: broken, args: []string{"--tunnel", "--edge-verify"}},
		{name: "a variable that is not a flag's value", local: broken, env: map[string]string{"CLERK_SYNC_MAX_BODY": leaktest.Secret}},
		{name: "the mapping file is .env.local", local: broken + "CLERK_SECRET_KEY: " + leaktest.ClerkKey + "\n", args: []string{"--config", ".env.local"}},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := inTempDir(t)
			t.Setenv("CLERK_SECRET_KEY", "")
			for name, body := range map[string]string{".env.local": tt.local, ".env": tt.dotenv} {
				if body != "" {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			local(t)
			for _, cmd := range [][]string{nil, {"migrate"}, {"doctor"}, {"schema"}} {
				var stdout, stderr bytes.Buffer
				args := append(append(cmd, "--addr", "127.0.0.1:0"), tt.args...)
				if cmd != nil {
					args = append(cmd, tt.args...)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				code := run(ctx, args, &stdout, &stderr)
				cancel()
				if cmd == nil && code == 0 {
					t.Errorf("clerk-sync %v started", args)
				}
				leaktest.Check(t, fmt.Sprintf("clerk-sync %v", args), stdout.String()+stderr.String())
			}
		})
	}
}

// The inspector's screens — the status bar with the database, every
// delivery, its detail and its curl line — hold none of the planted
// secrets.
func TestNoSecretOnInspectorScreens(t *testing.T) {
	ctx := context.Background()
	inTempDir(t)
	st, desc, err := server.OpenStore(ctx, leaktest.WithPassword(pgtest.URL(t)), mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret, err := webhook.ParseSecret(leaktest.Secret)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		reports []webhook.Report
	)
	handler, _, err := server.Handlers(server.Config{
		Path: "/api/webhooks/clerk", Secret: secret, MaxBody: 4096,
		Observe: func(r webhook.Report) { mu.Lock(); reports = append(reports, r); mu.Unlock() },
	}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	url := srv.URL + "/api/webhooks/clerk"
	deliverAll(t, url)

	signer, _ := fake.NewSigner(secret.Reveal())
	tm := teatest.NewTestModel(t, tui.New(inspect.New(st, url, signer), tui.Info{
		Listen: srv.Listener.Addr().String(), WebhookURL: url, Database: desc, Fingerprint: secret.Fingerprint(),
		LogFile: "/tmp/clerk-sync.log", Columns: mapping.Default().ColumnNames(),
	}), teatest.WithInitialTermSize(140, 40), teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	mu.Lock()
	for _, r := range reports {
		tm.Send(tui.DeliveriesMsg{r})
	}
	n := len(reports)
	mu.Unlock()
	press := func(ks ...tea.Key) {
		for _, k := range ks {
			tm.Send(tea.KeyPressMsg(k))
		}
	}
	enter, esc, down := tea.Key{Code: tea.KeyEnter}, tea.Key{Code: tea.KeyEscape}, tea.Key{Code: 'j', Text: "j"}
	for range n {
		press(enter, tea.Key{Code: 'y', Text: "y"}, esc, down)
	}
	press(tea.Key{Code: tea.KeyTab}, enter, esc, tea.Key{Code: 't', Text: "t"}, tea.Key{Code: '?', Text: "?"})
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	screens, _ := io.ReadAll(tm.FinalOutput(t, teatest.WithFinalTimeout(5*time.Second)))
	if !strings.Contains(string(screens), desc) {
		t.Fatalf("the screens do not show the database %q", desc)
	}
	leaktest.Check(t, "the inspector's screens", string(screens)+tm.FinalModel(t).View().Content)
}

// A signing secret shorter than Svix's 24 bytes starts with a warning
// that says what to use instead; a full-length one without.
func TestShortSecretWarning(t *testing.T) {
	for _, tt := range []struct {
		key  string
		warn bool
	}{
		{"sixteen byte key", true},
		{"twenty-three byte key..", true},
		{"a key of twenty-four b..", false},
	} {
		t.Run(tt.key, func(t *testing.T) {
			inTempDir(t)
			t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", "whsec_"+base64.StdEncoding.EncodeToString([]byte(tt.key)))
			lines, stderr, _ := start(t, "--addr", "127.0.0.1:0")
			until(t, lines, "clerk-sync: POST")
			warned := strings.Contains(stderr.String(), fmt.Sprintf("the signing secret is short: whoever guesses it can forge deliveries\" bytes=%d want=24", len(tt.key)))
			if warned != tt.warn || tt.warn && !strings.Contains(stderr.String(), "mockclerk secret --write-env") {
				t.Fatalf("warned %v, want %v:\n%s", warned, tt.warn, stderr.String())
			}
		})
	}
}
