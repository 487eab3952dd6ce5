package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkSendThroughput runs `mockclerk send user.created --count 20000
// --concurrency 16` against a server that answers 200 at once, to show
// that mockclerk is not what limits a load test. Each iteration is one
// whole run; its summary line (deliveries/s, p50, p99) is logged.
func BenchmarkSendThroughput(b *testing.B) {
	dir := b.TempDir()
	b.Chdir(dir)
	b.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", testSecret)
	b.Setenv("MOCKCLERK_STATE", dir+"/state.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // a sink
		w.Write([]byte(`{"outcome":"applied"}`))
	}))
	defer srv.Close()
	for b.Loop() {
		var out, summary strings.Builder
		code := run(context.Background(), []string{"send", "user.created", "--count", "20000", "--concurrency", "16",
			"--output", "ndjson", "--to", srv.URL}, &out, &summary)
		if code != 0 {
			b.Fatalf("exit %d: %s", code, summary.String())
		}
		b.Log(strings.TrimSpace(summary.String()))
	}
}
