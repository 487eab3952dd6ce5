package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/leaktest"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// leakSetup is setup with the planted secrets in .env.local and .env
// instead of the test secret in the environment.
func leakSetup(t *testing.T) string {
	dir := setup(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", "")
	for _, k := range []string{"NGROK_AUTHTOKEN", "CLERK_SECRET_KEY", "DATABASE_URL"} {
		t.Setenv(k, "")
	}
	leaktest.Plant(t, dir, "postgres://postgres:"+leaktest.Password+"@127.0.0.1:1/app")
	return dir
}

// Nothing mockclerk prints — the lines of deliveries applied and refused,
// ndjson, summaries, verify's verdicts, secret's confirmations — shows a
// planted secret.
func TestNoSecretInMockclerkOutput(t *testing.T) {
	dir := leakSetup(t)
	st, _ := storetest.SQLite(t, store.HardDelete)
	secret, _ := webhook.ParseSecret(leaktest.Secret)
	h, _, err := server.Handlers(server.Config{Path: "/hook", Secret: secret, MaxBody: 4096}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + "/hook"
	withPassword := strings.Replace(url, "://", "://relay:"+leaktest.URLPassword+"@", 1)

	// A captured delivery, and one whose body was changed after signing.
	g := fake.New(3, time.Now())
	signer, _ := fake.NewSigner(leaktest.Secret)
	d, _ := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
	header := map[string]string{}
	for k := range d.Header {
		header[strings.ToLower(k)] = d.Header.Get(k)
	}
	for name, body := range map[string]string{"good.json": string(d.Body), "tampered.json": string(d.Body) + " "} {
		b, _ := json.Marshal(map[string]any{"headers": header, "body": body})
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	checkDB := filepath.Join(dir, "check.db")
	if st, _, err := server.OpenStore(context.Background(), checkDB, mapping.Default()); err != nil {
		t.Fatal(err)
	} else {
		st.Close()
	}
	for _, args := range [][]string{
		{"check", "--to", url, "--case", "lifecycle"}, // the planted DATABASE_URL: unreachable
		{"check", "--to", withPassword, "--db", checkDB, "--case", "forged-signature", "--case", "lifecycle"},
		{"check", "--to", withPassword, "--db", checkDB, "--case", "unsigned", "--output", "json", "--keep"},
		{"send", "user.created", "--to", url, "--duplicate", "1"},
		{"send", "user.updated", "--to", url, "--output", "ndjson"},
		{"send", "user.created", "--to", url, "--tamper", "secret"},
		{"send", "user.created", "--to", url, "--tamper", "body", "--output", "ndjson"},
		{"send", "user.created", "--to", url, "--stale", "6m"},
		{"send", "user.created", "--to", url, "--no-sign"},
		{"send", "user.created", "--to", url, "--set", "first_name=" + strings.Repeat("x", 5000)},
		{"send", "user.created", "--to", withPassword},
		{"send", "user.created", "--to", "http://relay:" + leaktest.URLPassword + "@127.0.0.1:1/hook"},
		{"scenario", "out-of-order", "--to", url},
		{"verify", "--delivery", "@good.json"},
		{"verify", "--delivery", "@tampered.json"},
		{"secret", "--write-env", "--if-missing"},
	} {
		code, out, errOut := mockclerk(context.Background(), args...)
		leaktest.Check(t, fmt.Sprintf("mockclerk %v (exit %d)", args, code), out+errOut)
	}

	// A new secret is written, never shown.
	code, out, errOut := mockclerk(context.Background(), "secret", "--write-env")
	b, _ := os.ReadFile(filepath.Join(dir, ".env.local"))
	_, written, _ := strings.Cut(string(b), "CLERK_WEBHOOK_SIGNING_SECRET=")
	written, _, _ = strings.Cut(written, "\n")
	if code != 0 || len(written) < 30 || strings.Contains(out+errOut, strings.TrimPrefix(written, "whsec_")) {
		t.Fatalf("secret --write-env: exit %d, wrote %d bytes, printed %q", code, len(written), out+errOut)
	}
	leaktest.Check(t, "mockclerk secret --write-env", out+errOut+string(b[:strings.Index(string(b), "CLERK_WEBHOOK_SIGNING_SECRET=")]))
}

// No error of mockclerk shows a planted secret, whatever is malformed.
func TestNoSecretInMockclerkErrors(t *testing.T) {
	type failure struct {
		name          string
		local, dotenv string
		args          []string
	}
	var tests []failure
	for name, body := range leaktest.BrokenEnvFiles() {
		tests = append(tests, failure{name: name + " in .env.local", local: body}, failure{name: name + " in .env", dotenv: body})
	}
	tests = append(tests, []failure{
		{name: "secret not base64", local: "CLERK_WEBHOOK_SIGNING_SECRET=" + leaktest.Secret + "%%\n"},
		{name: "secret key for the signing secret", local: "CLERK_WEBHOOK_SIGNING_SECRET=" + leaktest.ClerkKey + "\n"},
		{name: "bad --secret", args: []string{"--secret", leaktest.Secret + "!"}},
		{name: "--secret without whsec_", args: []string{"--secret", leaktest.ClerkKey}},
		{name: "secret as an argument", args: []string{leaktest.Secret}},
		{name: "secret in a number flag", args: []string{"--count", leaktest.Secret}},
		{name: "secret in a duration flag", args: []string{"--stale", leaktest.Secret}},
		{name: "secret in a choice", args: []string{"--tamper", leaktest.Secret}},
		{name: "secret in the rate", args: []string{"--rate", leaktest.Secret}},
		{name: "secret in --set", args: []string{"--set", leaktest.Secret}},
		{name: "secret as the data", args: []string{"--data", leaktest.Secret}},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t)
			t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", "")
			t.Setenv("NGROK_AUTHTOKEN", "")
			if tt.local == "" && tt.dotenv != "" {
				tt.local = "CLERK_WEBHOOK_SIGNING_SECRET=" + leaktest.Secret + "\n"
			}
			for name, body := range map[string]string{".env.local": tt.local, ".env": tt.dotenv} {
				if body != "" {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, cmd := range [][]string{
				{"send", "user.created", "--to", "http://127.0.0.1:1/hook", "--retry", "none"},
				{"scenario", "out-of-order", "--to", "http://127.0.0.1:1/hook"},
				{"verify", "--payload", "{}", "--id", "msg_1", "--timestamp", "1", "--signature", "v1,x"},
				{"secret", "--write-env", "--if-missing"},
			} {
				args := append(cmd, tt.args...)
				code, out, errOut := mockclerk(context.Background(), args...)
				leaktest.Check(t, fmt.Sprintf("mockclerk %v (exit %d)", args, code), out+errOut)
			}
		})
	}
}

// secret --write-env writes through a symbolic .env.local to its target,
// keeps the other lines, and refuses a file it cannot read.
func TestSecretWriteEnvThroughLink(t *testing.T) {
	dir := setup(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", "")
	shared := filepath.Join(t.TempDir(), "team.env")
	if err := os.WriteFile(shared, []byte("export DATABASE_URL=postgres://x\r\nCLERK_WEBHOOK_SIGNING_SECRET=old\r\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(dir, ".env.local")); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := mockclerk(context.Background(), "secret", "--write-env"); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if fi, err := os.Lstat(filepath.Join(dir, ".env.local")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf(".env.local is no longer a link: %v", err)
	}
	b, _ := os.ReadFile(shared)
	if !strings.HasPrefix(string(b), "export DATABASE_URL=postgres://x\r\nCLERK_WEBHOOK_SIGNING_SECRET=whsec_") || !strings.HasSuffix(string(b), "\r\n") {
		t.Fatalf("target: %q", b)
	}

	if err := os.WriteFile(shared, []byte("A=\"unclosed\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := mockclerk(context.Background(), "secret", "--write-env"); code != 1 || !strings.Contains(errOut, "line 1: the value opened with") {
		t.Fatalf("a broken file: exit %d %q", code, errOut)
	}
}
