package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/scenario"
)

// sink answers 200 to everything and keeps the bodies it got.
type sink struct {
	mu     sync.Mutex
	bodies [][]byte
	onPost func(n int)
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	n := len(s.bodies)
	s.mu.Unlock()
	if s.onPost != nil {
		s.onPost(n)
	}
	w.Write([]byte(`{"outcome":"applied"}`))
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// send generates as it sends: ten million deliveries start at once, and
// Ctrl-C ends the run at the next one.
func TestSendStreams(t *testing.T) {
	setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &sink{onPost: func(n int) {
		if n == 50 {
			cancel()
		}
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, out, errOut := mockclerk(ctx, "send", "user.created", "--count", "10000000", "--concurrency", "4",
		"--duplicate", "1", "--output", "ndjson", "--to", srv.URL)
	if code != 130 || !strings.Contains(errOut, "sent ") || s.count() > 100 {
		t.Fatalf("exit %d after %d requests\n%s", code, s.count(), errOut)
	}
	if n := len(ndjson(t, out)); n < 49 {
		t.Errorf("%d results", n)
	}
}

// A scenario past the cap is refused before anything is sent, and so is
// one interrupted while it is planned.
func TestScenarioRefusedBeforeSending(t *testing.T) {
	dir := setup(t)
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	file := filepath.Join(dir, "big.json")
	big := `{"name":"big","steps":[{"name":"a","event":"user.created","count":10000},{"name":"b","event":"user.created","count":10000},{"name":"c","event":"user.created"}]}`
	if err := os.WriteFile(file, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := mockclerk(context.Background(), "scenario", "burst", "--duplicate", strconv.Itoa(scenario.MaxDeliveries), "--to", srv.URL)
	if code != 2 || !strings.Contains(errOut, "more than 20000 deliveries") || s.count() != 0 {
		t.Errorf("--duplicate past the cap: exit %d, %d sent\n%s", code, s.count(), errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, errOut = mockclerk(ctx, "scenario", file, "--to", srv.URL)
	if code != 130 || !strings.Contains(errOut, "context canceled") || s.count() != 0 {
		t.Errorf("interrupted while planning: exit %d, %d sent\n%s", code, s.count(), errOut)
	}
}

// --profile, else MOCKCLERK_PROFILE, says which identifiers the generated
// users have.
func TestProfile(t *testing.T) {
	dir := setup(t)
	for _, tc := range []struct {
		name, env string
		args      []string
		code      int
		check     func(body []byte) bool
		errOut    string
	}{
		{"flag", "", []string{"--profile", "phone-only"}, 0, noEmail, ""},
		{".env.local", "email-required", nil, 0, hasEmail, ""},
		{"flag beats .env.local", "email-required", []string{"--profile", "phone-only"}, 0, noEmail, ""},
		{"bad variable", "email", nil, 2, nil, "MOCKCLERK_PROFILE (from .env.local) is not a valid --profile"},
		{"bad flag", "", []string{"--profile", "email"}, 2, nil, "want mixed, email-required or phone-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, ".env.local"), []byte("MOCKCLERK_PROFILE="+tc.env+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s := &sink{}
			srv := httptest.NewServer(s)
			defer srv.Close()
			code, _, errOut := mockclerk(context.Background(), append([]string{"send", "user.created", "--count", "40", "--to", srv.URL}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.errOut) {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, errOut)
			}
			for _, b := range s.bodies {
				if !tc.check(b) {
					t.Fatalf("user %s", gjson.GetBytes(b, "data").Raw)
				}
			}
		})
	}
}

func hasEmail(body []byte) bool {
	return gjson.GetBytes(body, "data.primary_email_address_id").String() != ""
}

func noEmail(body []byte) bool {
	return !hasEmail(body) && gjson.GetBytes(body, "data.phone_numbers.#").Int() == 1
}
