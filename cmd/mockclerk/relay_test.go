package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// app is the developer's own handler: it verifies with the Svix library
// and answers what the test says.
type app struct {
	mu       sync.Mutex
	verified int
	bodies   [][]byte
	answer   int
	delay    time.Duration
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh, _ := svix.NewWebhook(testSecret)
	a.mu.Lock()
	if wh.Verify(body, r.Header) == nil {
		a.verified++
	}
	a.bodies = append(a.bodies, body)
	answer, delay := a.answer, a.delay
	a.mu.Unlock()
	time.Sleep(delay)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(answer)
	io.WriteString(w, `{"from":"app"}`)
}

// In relay mode each verified delivery reaches the app byte for byte with
// its Svix headers (the app's own verification passes), and the app's
// answer — or 502/504 when it is down or slow — goes back to the sender.
func TestRelay(t *testing.T) {
	setup(t)
	a := &app{answer: 200}
	appSrv := httptest.NewServer(a)
	secret, _ := webhook.ParseSecret(testSecret)
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	relay := httptest.NewServer(webhook.NewRelay(v, appSrv.URL+"/api/webhooks/clerk", &http.Client{Timeout: 300 * time.Millisecond}, webhook.Options{}))
	defer relay.Close()
	ctx := context.Background()

	for _, tc := range []struct {
		answer int
		code   int
		want   string
	}{
		{200, 0, "<-- 200"},
		{400, 1, "<-- 400"},
		{500, 1, "<-- 500"},
	} {
		a.mu.Lock()
		a.answer = tc.answer
		a.mu.Unlock()
		code, out, errOut := mockclerk(ctx, "send", "user.created", "--to", relay.URL)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("app answers %d: exit %d\n%s%s", tc.answer, code, out, errOut)
		}
	}
	a.mu.Lock()
	if a.verified != 3 || len(a.bodies) != 3 || !bytes.Contains(a.bodies[0], []byte(`"type": "user.created"`)) {
		t.Fatalf("the app verified %d of %d deliveries", a.verified, len(a.bodies))
	}
	a.answer, a.delay = 200, time.Second
	a.mu.Unlock()
	if code, out, _ := mockclerk(ctx, "send", "user.created", "--to", relay.URL); code != 1 || !strings.Contains(out, "504 failed (app-timeout)") {
		t.Errorf("slow app: exit %d\n%s", code, out)
	}
	// A forgery is refused by the relay itself and never reaches the app.
	count := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.bodies)
	}
	before := count()
	if code, out, _ := mockclerk(ctx, "send", "user.created", "--to", relay.URL, "--tamper", "signature"); code != 1 || !strings.Contains(out, "bad-signature") || count() != before {
		t.Errorf("forgery: exit %d\n%s", code, out)
	}
	appSrv.Close()
	if code, out, _ := mockclerk(ctx, "send", "user.created", "--to", relay.URL); code != 1 || !strings.Contains(out, "502 failed (app-unreachable)") {
		t.Errorf("app down: exit %d\n%s", code, out)
	}
}
