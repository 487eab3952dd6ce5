package fake

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/syncer"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// recorder is the applier behind the real webhook handler: it keeps the
// bytes of each verified delivery.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) Apply(_ context.Context, _ string, body []byte) syncer.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, body)
	return syncer.Result{Outcome: store.Applied}
}

// The printed curl command, run by a shell, delivers exactly the signed
// bytes: the webhook handler verifies it with the same secret and answers
// 200, whatever the body holds.
func TestCurlCommandIsAccepted(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed:", err)
	}
	sec, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.NewVerifier(sec)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := httptest.NewServer(webhook.NewHandler(v, rec, webhook.Options{}))
	defer srv.Close()
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	g := New(5, time.Now())
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"generated event", g.Created(g.NewUser()).Body},
		{"trailing newlines", []byte("{\"data\":{\"id\":\"user_1\"}}\n\n")},
		{"quotes and shell syntax", []byte(`{"data":{"id":"user_2","first_name":"O'Brien '\''", "x":"$HOME ` + "`id`" + ` \\ \" !!"}}`)},
		{"CRLF, tabs, unicode", []byte("{\r\n\t\"data\": {\"id\": \"user_3\", \"last_name\": \"Zoë 日本\"}\r\n}\r\n")},
		{"no trailing newline", []byte(`{"data":{"id":"user_4"}}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, body, err := Shape{}.Sign(s, Delivery{ID: g.ID("msg"), Body: tc.body}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			cmd := Curl(srv.URL, h, body)
			out, err := exec.Command("sh", "-c", cmd+" -w '\\n%{http_code}'").CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", curl, err, out)
			}
			if !bytes.HasSuffix(out, []byte("\n200")) {
				t.Fatalf("answer %s\nto\n%s", out, cmd)
			}
			rec.mu.Lock()
			got := rec.bodies[len(rec.bodies)-1]
			rec.mu.Unlock()
			if !bytes.Equal(got, tc.body) {
				t.Errorf("received %q, want %q", got, tc.body)
			}
		})
	}
}
