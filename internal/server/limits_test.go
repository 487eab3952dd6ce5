package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// Svix counts a redirect as a failed delivery: a path that http.ServeMux
// would clean and redirect is refused instead, on the local side and on
// the tunnel's, and the webhook path itself is served.
func TestNoPathRedirects(t *testing.T) {
	st, _ := storetest.SQLite(t, store.HardDelete)
	secret, _ := webhook.ParseSecret(testSecret)
	local, public, err := server.Handlers(server.Config{Path: "/api/webhooks/clerk", Secret: secret}, st)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := fake.NewSigner(testSecret)
	g := fake.New(11, time.Now())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for name, h := range map[string]http.Handler{"local": local, "public": public} {
		srv := httptest.NewServer(h)
		defer srv.Close()
		for _, tc := range []struct {
			path string
			want int
		}{
			{"//api/webhooks/clerk", http.StatusNotFound},
			{"/api/webhooks/./clerk", http.StatusNotFound},
			{"/api/webhooks/x/../clerk", http.StatusNotFound},
			{"/api//webhooks/clerk", http.StatusNotFound},
			{"/api/webhooks/clerk/", http.StatusNotFound},
			{"/api/webhooks/clerk", http.StatusOK},
		} {
			d, err := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tc.path, bytes.NewReader(d.Body))
			req.Header = d.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s POST %s: %d (Location %q), want %d", name, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
		}
	}
}

// Headers past MaxHeaderBytes are refused before the handler runs: the
// inspector keeps the headers of its last deliveries.
func TestHeadersOverTheLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, http.NotFoundHandler(), slog.New(slog.DiscardHandler)) }()
	defer func() { cancel(); <-done }()
	for _, tc := range []struct {
		size int
		want int
	}{{1 << 10, http.StatusNotFound}, {server.MaxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/x", nil)
		req.Header.Set("X-Pad", strings.Repeat("p", tc.size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%d bytes of headers: %d, want %d", tc.size, resp.StatusCode, tc.want)
		}
	}
}
