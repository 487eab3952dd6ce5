package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

const testSecretKey = "sk_test_mockclerkServeTestKey0000000000000"

// serving runs `mockclerk serve args…` until the test ends or stop is
// called, and returns its base URL once it answers.
func serving(t *testing.T, args ...string) (base string, stop func() (int, string, string)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := mockclerk(ctx, append([]string{"serve", "--addr", addr}, args...)...)
		done <- result{code, out, errOut}
	}()
	stop = func() (int, string, string) {
		cancel()
		r := <-done
		return r.code, r.out, r.errOut
	}
	base = "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := apiGet(t, base+"/v1/users/count"); code == 200 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("serve exited %d\n%s%s", r.code, r.out, r.errOut)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatal("serve did not answer within 10 s")
		}
	}
	return base, stop
}

// apiGet sends an authorized GET and returns the status and body; status
// 0 when nothing answered.
func apiGet(t *testing.T, url string) (int, string) {
	return apiDo(t, "GET", url, "")
}

func apiDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testSecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// The instance starts with --users that fire nothing, fires a webhook the
// real receiver applies for a write, and keeps its users in --state across
// a restart (where --users no longer applies).
func TestServe(t *testing.T) {
	dir := setup(t)
	t.Setenv(secretKeyVar, "")
	os.WriteFile(filepath.Join(dir, ".env.local"), []byte(secretKeyVar+"="+testSecretKey+"\n"), 0o600)
	st, _ := storetest.SQLite(t, store.HardDelete)
	hook := receiver(t, st)
	state := filepath.Join(dir, "serve-state.json")

	base, stop := serving(t, "--users", "50", "--seed", "3", "--state", state, "--webhook-url", hook, "--retry", "fast", "--rate-limit", "off")
	if code, body := apiGet(t, base+"/v1/users/count"); code != 200 || body != `{"object":"total_count","total_count":50}` {
		t.Fatalf("count: %d %s", code, body)
	}
	code, body := apiDo(t, "POST", base+"/v1/users", `{"email_address":["served@example.com"],"first_name":"Served"}`)
	var made struct{ ID string }
	if code != 200 || json.Unmarshal([]byte(body), &made) != nil {
		t.Fatalf("create: %d %s", code, body)
	}
	waitRows(t, st, 1)
	code, out, errOut := stop()
	// The created user only: the 50 generated ones fired nothing.
	if users, _ := st.Users(context.Background()); len(users) != 1 || users[0].ID != made.ID {
		t.Fatalf("rows %+v, want only %s", users, made.ID)
	}
	if code != 0 || !strings.Contains(out, "50 generated users (seed 3)") || !strings.Contains(out, "1 delivered") ||
		strings.Contains(out+errOut, testSecretKey) || strings.Contains(out+errOut, testSecret) {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
	}

	base, stop = serving(t, "--users", "10", "--state", state, "--webhook-url", "")
	if code, body := apiGet(t, base+"/v1/users/count"); code != 200 || body != `{"object":"total_count","total_count":51}` {
		t.Fatalf("count after restart: %d %s", code, body)
	}
	if code, body := apiGet(t, base+"/v1/users/"+made.ID); code != 200 || !strings.Contains(body, `"first_name":"Served"`) {
		t.Fatalf("get after restart: %d %s", code, body)
	}
	if code, out, errOut := stop(); code != 0 || !strings.Contains(out, "51 users from "+state) || !strings.Contains(out, "--users applies to a new state file only") {
		t.Fatalf("second run: exit %d\n%s%s", code, out, errOut)
	}
}

func TestServeMistakes(t *testing.T) {
	dir := setup(t)
	ctx := context.Background()
	t.Setenv(secretKeyVar, "")
	if code, _, errOut := mockclerk(ctx, "serve"); code != 1 || !strings.Contains(errOut, "CLERK_SECRET_KEY=sk_test_") || !strings.Contains(errOut, ".env.local") {
		t.Errorf("no key: exit %d %q", code, errOut)
	}
	os.WriteFile(filepath.Join(dir, ".env.local"), []byte(secretKeyVar+"=pk_test_notasecret\n"), 0o600)
	if code, _, errOut := mockclerk(ctx, "serve"); code != 1 || !strings.Contains(errOut, "from .env.local: bad Clerk secret key: it must start with sk_test_ or sk_live_") || strings.Contains(errOut, "pk_test_notasecret") {
		t.Errorf("bad key: exit %d %q", code, errOut)
	}
	t.Setenv(secretKeyVar, testSecretKey)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", "")
	if code, _, errOut := mockclerk(ctx, "serve"); code != 1 || !strings.Contains(errOut, "--webhook-url ''") {
		t.Errorf("no signing secret: exit %d %q", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate-limit", "fast"}, "want dev, prod or off"},
		{[]string{"--retry", "often"}, "want svix, fast or none"},
		{[]string{"--drop", "1.5"}, "between 0 and 1"},
		{[]string{"--fail", "-0.1"}, "between 0 and 1"},
		{[]string{"--users", "-3"}, "cannot be negative"},
		{[]string{"extra"}, "unknown command"},
	} {
		if code, _, errOut := mockclerk(ctx, append([]string{"serve"}, tc.args...)...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d %q", tc.args, code, errOut)
		}
	}
	if code, out, _ := mockclerk(ctx, "serve", "--help"); code != 0 || !strings.Contains(out, "mockclerk serve --users 5000") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}
