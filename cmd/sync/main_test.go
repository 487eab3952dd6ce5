package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

const secret = "whsec_" + "Y2xlcmstc3luYy1jb21tYW5kLXRlc3Qtc2VjcmV0"

// inTempDir runs the test in an empty working directory with none of the
// toolkit's variables set.
func inTempDir(t *testing.T) string {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("CLERK_SYNC_CACHE_DIR", filepath.Join(dir, "cache"))
	for _, k := range append(slices.Collect(maps.Values(envVars)), append(config.SecretVars, "NGROK_AUTHTOKEN")...) {
		t.Setenv(k, "")
	}
	return dir
}

func TestStartupRefusesABadSecret(t *testing.T) {
	tests := []struct {
		name, envFile string
		args          []string
		want          string
	}{
		{"none", "", nil, "no signing secret: invalid signing secret: it is empty"},
		{"not whsec_", "CLERK_WEBHOOK_SIGNING_SECRET=sk_test_123\n", nil, "signing secret from CLERK_WEBHOOK_SIGNING_SECRET (.env.local): invalid signing secret: it must start with whsec_"},
		{"not base64", "CLERK_WEBHOOK_SECRET=whsec_%%%\n", nil, "signing secret from CLERK_WEBHOOK_SECRET (.env.local): invalid signing secret: the part after whsec_ is not base64"},
		{"flag", "", []string{"--secret", "whsec_"}, "signing secret from --secret: invalid signing secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := inTempDir(t)
			if tt.envFile != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte(tt.envFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, DefaultDB)); err == nil {
				t.Fatal("a database was created before the secret was checked")
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--on-delete", "archive"}, `invalid argument "archive" for "--on-delete" flag: must be one of hard, soft`},
		{[]string{"--log-format", "xml"}, `"--log-format" flag: must be one of text, json`},
		{[]string{"--log-level", "loud"}, `"--log-level" flag: must be one of debug, info, warn, error`},
		{[]string{"--path", "hook"}, "--path must start with /"},
		{[]string{"--max-body", "0"}, "--max-body must be positive"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	t.Setenv("CLERK_SYNC_ON_DELETE", "maybe")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), nil, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "CLERK_SYNC_ON_DELETE (from environment) is not a valid --on-delete: must be one of hard, soft") {
		t.Errorf("a bad variable: exit %d, stderr %q", code, stderr.String())
	}
}

// The command serves on SQLite with the secret from .env.local, applies a
// delivery, and exits cleanly when its context ends.
func TestServeAndDrain(t *testing.T) {
	dir := inTempDir(t)
	if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte("CLERK_WEBHOOK_SIGNING_SECRET="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, outW := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-format", "json"}, outW, &stderr)
		outW.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no start-up line: %v; stderr: %s", err, stderr.String())
	}
	go io.Copy(io.Discard, out) //nolint:errcheck // drain the rest
	fields := strings.Fields(line)
	if len(fields) < 3 {
		t.Fatalf("start-up line %q", line)
	}
	url := fields[2]

	g := fake.New(9, time.Now())
	s, _ := fake.NewSigner(secret)
	d, err := g.Deliver(s, g.Created(g.NewUser()), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := d.Request(ctx, url)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans webhook.Answer
	json.NewDecoder(resp.Body).Decode(&ans) //nolint:errcheck // checked below
	resp.Body.Close()
	if resp.StatusCode != 200 || ans.Outcome != "applied" {
		t.Fatalf("got %d %+v", resp.StatusCode, ans)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultDB)); err != nil {
		t.Fatalf("the default database file: %v", err)
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"delivery"`) || !strings.Contains(logs, `"outcome":"applied"`) {
		t.Fatalf("no delivery line in the log:\n%s", logs)
	}
	if strings.Contains(logs, strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("the secret is in the log")
	}
}

// The inspector's c follows MOCKCLERK_PROFILE as mockclerk does; a value
// mockclerk would refuse stops start-up, saying where it was set, before
// any database is made.
func TestTUIRefusesABadProfile(t *testing.T) {
	dir := inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte("MOCKCLERK_PROFILE=phone_only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--tui", "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	want := `MOCKCLERK_PROFILE (from .env.local), which the inspector's c follows as mockclerk does: profile "phone_only": want mixed, email-required or phone-only`
	if code != 1 || !strings.Contains(stderr.String(), want) {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultDB)); err == nil {
		t.Error("a database was created before the settings were checked")
	}
}
