package tunnel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder keeps the statuses a tunnel reports.
type recorder struct {
	mu  sync.Mutex
	all []Status
}

func (r *recorder) status(s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, s)
}

func (r *recorder) states() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []State
	for _, s := range r.all {
		out = append(out, s.State)
	}
	return out
}

// index is the position of the first status in state st, or -1.
func (r *recorder) index(st State) int { return r.indexAfter(st, -1) }

// indexAfter is the position of the first status in state st after i, or -1.
func (r *recorder) indexAfter(st State, i int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for j := i + 1; j < len(r.all); j++ {
		if r.all[j].State == st {
			return j
		}
	}
	return -1
}

func (r *recorder) last() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all[len(r.all)-1]
}

func (r *recorder) has(st State, code string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.all {
		if s.State == st && (code == "" || s.Code == code) {
			return true
		}
	}
	return false
}

func TestNoTokenFailsAtOnce(t *testing.T) {
	var rec recorder
	start := time.Now()
	_, err := (&Ngrok{Token: "  "}).Open(context.Background(), rec.status)
	if !errors.Is(err, ErrNoToken) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "NGROK_AUTHTOKEN") || !rec.has(Failed, "") {
		t.Fatalf("err %q, statuses %v", err, rec.states())
	}
}

// ngrok-go retries forever on its own; Open gives up after Timeout and
// says what failed.
func TestConnectionThatNeverSucceeds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	var rec recorder
	start := time.Now()
	_, err = (&Ngrok{Token: "2abc_token", ConnectURL: closed, Timeout: 2 * time.Second}).Open(context.Background(), rec.status)
	took := time.Since(start)
	if err == nil || took > 5*time.Second {
		t.Fatalf("err %v after %s", err, took)
	}
	if !strings.Contains(err.Error(), "gave up after 2s") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err %q", err)
	}
	if !rec.has(Connecting, "") || !rec.has(Failed, "") {
		t.Fatalf("statuses %v", rec.states())
	}
}

func TestNgrokErrorsCarryTheirCodeAndAHint(t *testing.T) {
	tests := []struct {
		name, authErr, bindErr, code, hint string
	}{
		{"invalid token", "The authtoken you specified is properly formed, but it is invalid.\n\nERR_NGROK_107", "", "ERR_NGROK_107", "not valid"},
		{"unverified account", "Usage of ngrok requires a verified account and authtoken.\n\nERR_NGROK_4018", "", "ERR_NGROK_4018", "verified account"},
		{"domain of another account", "", "This domain is reserved for another account.\n\nERR_NGROK_320", "ERR_NGROK_320", "not reserved on this account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, tt.authErr, tt.bindErr)
			var rec recorder
			_, err := (&Ngrok{Token: "tok", Domain: "probe.ngrok-free.app", ConnectURL: f.Addr(), CAs: f.Pool, Timeout: 2 * time.Second}).
				Open(context.Background(), rec.status)
			if err == nil || Code(err) != tt.code || !strings.Contains(err.Error(), tt.hint) {
				t.Fatalf("err %v (code %q), want %s and %q", err, Code(err), tt.code, tt.hint)
			}
			if !rec.has(Failed, tt.code) {
				t.Fatalf("statuses %+v", rec.all)
			}
		})
	}
}

// Against an ingress that accepts, Open returns a listener with the public
// URL, requests reach the handler served on it, and Close closes.
func TestTunnelServes(t *testing.T) {
	f := startFake(t, "", "")
	var rec recorder
	tun, err := (&Ngrok{Token: "tok", Domain: "clerk-sync-test.ngrok-free.app", Policy: ClerkPolicy("whsec_x"),
		ConnectURL: f.Addr(), CAs: f.Pool}).Open(context.Background(), rec.status)
	if err != nil {
		t.Fatal(err)
	}
	if tun.URL() != "https://clerk-sync-test.ngrok-free.app" || !rec.has(Connected, "") {
		t.Fatalf("url %q, statuses %v", tun.URL(), rec.states())
	}
	served := make(chan error, 1)
	go func() {
		served <- http.Serve(tun, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.Header.Get("svix-id"))
		}))
	}()
	c, err := f.Proxy()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST /api/webhooks/clerk HTTP/1.1\r\nHost: clerk-sync-test.ngrok-free.app\r\nsvix-id: msg_1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	c.Close()
	if resp.StatusCode != 200 || string(body) != "msg_1" {
		t.Fatalf("through the tunnel: %d %q", resp.StatusCode, body)
	}
	tun.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

// ngrok logs its requests at debug level, traffic policy included: with
// a policy, whose secret must never be logged, its log is not used.
func TestPolicySecretIsNotLogged(t *testing.T) {
	f := startFake(t, "", "")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var rec recorder
	tun, err := (&Ngrok{Token: "tok", Policy: ClerkPolicy("whsec_c2VjcmV0LXRoYXQtbXVzdC1zdGF5LWhpZGRlbg=="),
		ConnectURL: f.Addr(), CAs: f.Pool, Log: log}).Open(context.Background(), rec.status)
	if err != nil {
		t.Fatal(err)
	}
	tun.Close()
	if strings.Contains(logs.String(), "c2VjcmV0LXRoYXQtbXVzdC1zdGF5LWhpZGRlbg") {
		t.Fatalf("the secret is in the log:\n%s", logs.String())
	}
}

// A session that drops after the tunnel is up shows as reconnecting, then
// connected again, and the tunnel keeps its URL.
func TestReconnect(t *testing.T) {
	f := startFake(t, "", "")
	var rec recorder
	tun, err := (&Ngrok{Token: "tok", Domain: "clerk-sync-test.ngrok-free.app", ConnectURL: f.Addr(), CAs: f.Pool}).
		Open(context.Background(), rec.status)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	go http.Serve(tun, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "still here") })) //nolint:errcheck // ends with Close
	f.Drop()
	deadline := time.Now().Add(15 * time.Second)
	for rec.indexAfter(Connected, rec.index(Reconnecting)) < 0 || rec.index(Reconnecting) < 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnecting → connected: %v", rec.states())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if u := rec.last().URL; u != "https://clerk-sync-test.ngrok-free.app" {
		t.Fatalf("url after the reconnect: %q", u)
	}
	// Requests reach the handler through the new session.
	for {
		c, err := f.Proxy()
		if err == nil {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			resp, rerr := http.ReadResponse(bufio.NewReader(c), nil)
			if rerr == nil {
				b, _ := io.ReadAll(resp.Body)
				c.Close()
				if string(b) == "still here" {
					return
				}
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request through the tunnel after the reconnect: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLocal(t *testing.T) {
	var rec recorder
	tun, err := Local{}.Open(context.Background(), rec.status)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tun.URL(), "http://127.0.0.1:") {
		t.Fatalf("url %q", tun.URL())
	}
	tun.Close()
	if got := rec.states(); len(got) != 3 || got[0] != Connecting || got[1] != Connected || got[2] != Closed {
		t.Fatalf("statuses %v", got)
	}
}

// TestLive opens a real ngrok tunnel; it runs only with NGROK_AUTHTOKEN set
// (these machines cannot reach ngrok).
func TestLive(t *testing.T) {
	token := os.Getenv("NGROK_AUTHTOKEN")
	if token == "" {
		t.Skip("NGROK_AUTHTOKEN is not set: the live ngrok test is skipped")
	}
	var rec recorder
	tun, err := (&Ngrok{Token: token, Domain: os.Getenv("NGROK_DOMAIN")}).Open(context.Background(), rec.status)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	go http.Serve(tun, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "live") })) //nolint:errcheck // ends with Close
	resp, err := http.Get(tun.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "live" {
		t.Fatalf("got %q", b)
	}
}
