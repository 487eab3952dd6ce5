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
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

// The secrets planted in the environment and the .env files of the tests
// below: no output may hold any of their bytes.
const (
	plantedKey        = "PLANTED signing key 0123456789abcdef" // the signing secret, decoded
	plantedNgrok      = "2PLANTEDngrokAuthToken_4f1c9e77"
	plantedPassword   = "PLANTEDpgPassw0rd"
	plantedClerkKey   = "sk_test_PLANTEDclerkSecretKey42"
	plantedForwardPwd = "PLANTEDrelayPassw0rd"
)

var plantedSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(plantedKey))

// leaks names the planted secrets of which out holds any ten consecutive
// bytes: a secret cut short or split across a line is still found.
func leaks(out string) []string {
	var found []string
	for name, s := range map[string]string{
		"signing secret": strings.TrimPrefix(plantedSecret, "whsec_"), "signing key": plantedKey,
		"NGROK_AUTHTOKEN": plantedNgrok, "DATABASE_URL password": plantedPassword,
		"CLERK_SECRET_KEY": strings.TrimPrefix(plantedClerkKey, "sk_test_"), "--forward-to password": plantedForwardPwd,
	} {
		for i := 0; i+10 <= len(s); i++ {
			if strings.Contains(out, s[i:i+10]) {
				found = append(found, name)
				break
			}
		}
	}
	return found
}

func requireNoLeak(t *testing.T, what, out string) {
	t.Helper()
	if found := leaks(out); len(found) > 0 {
		t.Errorf("%s shows the %s:\n%s", what, strings.Join(found, ", "), out)
	}
}

// plantedURL is url with the planted password, which the throwaway
// cluster (trust authentication) ignores.
func plantedURL(url string) string {
	return strings.Replace(url, "://postgres@", "://postgres:"+plantedPassword+"@", 1)
}

// plant writes .env.local with every planted secret and dbURL, and .env
// with the secret again under its older name.
func plant(t *testing.T, dir, dbURL string) {
	t.Helper()
	local := fmt.Sprintf("CLERK_WEBHOOK_SIGNING_SECRET=%s\nNGROK_AUTHTOKEN=%s\nCLERK_SECRET_KEY=%s\nDATABASE_URL=%s\n",
		plantedSecret, plantedNgrok, plantedClerkKey, dbURL)
	if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("CLERK_WEBHOOK_SECRET="+plantedSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Every output of a serving clerk-sync — the log at debug in both formats,
// ndjson, the tunnel's lines, the HTTP answers to deliveries applied and
// refused — is free of the planted secrets.
func TestNoSecretInServeOutput(t *testing.T) {
	pg := plantedURL(pgtest.URL(t))
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
			plant(t, dir, tt.db)
			local(t)
			args := append([]string{"--addr", "127.0.0.1:0", "--log-level", "debug", "--max-body", "4096"}, tt.args...)
			if tt.db == "" {
				app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					http.Error(w, "the app refuses", http.StatusInternalServerError)
				}))
				defer app.Close()
				args = append(args, "--forward-to", strings.Replace(app.URL, "://", "://relay:"+plantedForwardPwd+"@", 1)+"/hook")
			}
			out := serveAndDeliver(t, args)
			requireNoLeak(t, "clerk-sync's output", out)
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
	signer, _ := fake.NewSigner(plantedSecret)
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
	broken := "CLERK_WEBHOOK_SIGNING_SECRET=" + plantedSecret + "\nNGROK_AUTHTOKEN=" + plantedNgrok + "\n"
	tests := []struct {
		name          string
		local, dotenv string
		env           map[string]string
		args          []string
	}{
		{name: "a dash in a name", local: broken + "MY-VAR=1\nCLERK_SECRET_KEY=" + plantedClerkKey + "\n"},
		{name: "a stray quote", local: "A=\"oops\n" + broken},
		{name: "a stray quote in .env", dotenv: broken + "B='oops\n" + "CLERK_SECRET_KEY=" + plantedClerkKey + "\n"},
		{name: "a secret pasted alone", local: "A=1\n" + plantedSecret + "\n" + broken},
		{name: "a token pasted alone", local: plantedNgrok + "\n" + broken},
		{name: "a byte-order mark inside", local: broken + "\uFEFFX=1\n"},
		{name: "no equals sign", local: "CLERK_WEBHOOK_SIGNING_SECRET " + plantedSecret + "\n"},
		{name: "secret not base64", local: "CLERK_WEBHOOK_SIGNING_SECRET=" + plantedSecret + "%%\n"},
		{name: "secret key for the signing secret", local: "CLERK_WEBHOOK_SIGNING_SECRET=" + plantedClerkKey + "\n"},
		{name: "bad --secret", args: []string{"--secret", plantedSecret + "!"}},
		{name: "--secret without whsec_", args: []string{"--secret", plantedClerkKey}},
		{name: "secret as an argument", args: []string{plantedSecret}},
		{name: "secret in a number flag", args: []string{"--max-body", plantedSecret}},
		{name: "secret in a boolean flag", args: []string{"--edge-verify=" + plantedSecret}},
		{name: "secret in a duration flag", args: []string{"--tunnel-timeout", plantedSecret}},
		{name: "mysql URL", local: broken, env: map[string]string{"DATABASE_URL": "mysql://app:" + plantedPassword + "@db/app"}},
		{name: "postgres URL that does not parse", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + plantedPassword + "@[db/app"}},
		{name: "postgres URL with a bad escape", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + plantedPassword + "%zz@db/app"}},
		{name: "postgres URL with a bad parameter", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + plantedPassword + "@127.0.0.1:1/app?sslmode=sometimes"}},
		{name: "postgres URL with a password parameter", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app@127.0.0.1:1/app?password=" + plantedPassword + "&sslmode=sometimes"}},
		{name: "postgres unreachable", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + plantedPassword + "@127.0.0.1:1/app?connect_timeout=2"}},
		{name: "postgres bad port", local: broken, env: map[string]string{"DATABASE_URL": "postgres://app:" + plantedPassword + "@db:99999/app"}},
		{name: "bad --forward-to", local: broken, args: []string{"--forward-to", "ftp://relay:" + plantedForwardPwd + "@app/hook"}},
		{name: "--edge-verify with a local secret", local: broken, args: []string{"--tunnel", "--edge-verify"}},
		{name: "a variable that is not a flag's value", local: broken, env: map[string]string{"CLERK_SYNC_MAX_BODY": plantedSecret}},
		{name: "the mapping file is .env.local", local: broken + "CLERK_SECRET_KEY: " + plantedClerkKey + "\n", args: []string{"--config", ".env.local"}},
	}
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
				requireNoLeak(t, fmt.Sprintf("clerk-sync %v", args), stdout.String()+stderr.String())
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
	st, desc, err := server.OpenStore(ctx, plantedURL(pgtest.URL(t)), mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret, err := webhook.ParseSecret(plantedSecret)
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
		tm.Send(tui.DeliveryMsg{Delivery: r})
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
	requireNoLeak(t, "the inspector's screens", string(screens)+tm.FinalModel(t).View().Content)
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
			warned := strings.Contains(stderr.String(), fmt.Sprintf("the signing secret is only %d bytes", len(tt.key)))
			if warned != tt.warn || tt.warn && !strings.Contains(stderr.String(), "mockclerk secret --write-env") {
				t.Fatalf("warned %v, want %v:\n%s", warned, tt.warn, stderr.String())
			}
		})
	}
}
