package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// A raw capture is verified on the bytes that were signed: CRLFs inside
// the body are kept, a chunked body is decoded, and a timestamp at the
// int64 limit is called too new, not too old.
func TestVerifyRawCaptures(t *testing.T) {
	dir := setup(t)
	s, err := fake.NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	crlfBody := "{\r\n  \"type\": \"user.created\",\r\n  \"data\": {\"id\": \"user_crlf\"}\r\n}\r\n"
	capture := func(body string, at time.Time, head func(sig map[string]string) string) string {
		h, err := s.Sign("msg_capture", at, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return head(map[string]string{"id": h.Get("svix-id"), "ts": h.Get("svix-timestamp"), "sig": h.Get("svix-signature")})
	}
	svixLines := func(sig map[string]string, eol string) string {
		return "POST /api/webhooks/clerk HTTP/1.1" + eol + "Host: example.ngrok.app" + eol + "Content-Type: application/json" + eol +
			"Svix-Id: " + sig["id"] + eol + "Svix-Timestamp: " + sig["ts"] + eol + "Svix-Signature: " + sig["sig"] + eol
	}
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"CRLF body, CRLF head", capture(crlfBody, time.Now(), func(sig map[string]string) string {
			return svixLines(sig, "\r\n") + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(crlfBody)) + crlfBody
		}), []string{"ok: the signature matches"}},
		{"CRLF body, head pasted without CR, no length, a newline added by the editor", capture(crlfBody, time.Now(), func(sig map[string]string) string {
			return svixLines(sig, "\n") + "\n" + crlfBody + "\n"
		}), []string{"ok: the signature matches"}},
		{"chunked body", capture(crlfBody, time.Now(), func(sig map[string]string) string {
			return svixLines(sig, "\r\n") + "Transfer-Encoding: chunked\r\n\r\n" +
				fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", 10, crlfBody[:10], len(crlfBody)-10, crlfBody[10:])
		}), []string{"ok: the signature matches", "-byte body"}},
		{"timestamp at the int64 limit", capture(crlfBody, time.Unix(math.MaxInt64, 0), func(sig map[string]string) string {
			return svixLines(sig, "\r\n") + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(crlfBody)) + crlfBody
		}), []string{"svix-timestamp 9223372036854775807", "ok: the signature matches", "refuse it as too-new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "capture.http")
			if err := os.WriteFile(file, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := mockclerk(context.Background(), "verify", "--delivery", "@"+file)
			want := append(tc.want, fmt.Sprintf("%d-byte body", len(crlfBody)))
			for _, w := range want {
				if code != 0 || !strings.Contains(out, w) {
					t.Errorf("exit %d, want %q in\n%s%s", code, w, out, errOut)
				}
			}
		})
	}
}

// A chunked capture cut short is refused with a message, not verified on
// half a body.
func TestVerifyCutChunkedCapture(t *testing.T) {
	dir := setup(t)
	file := filepath.Join(dir, "capture.http")
	raw := "POST /hook HTTP/1.1\r\nHost: x\r\nSvix-Id: msg_1\r\nSvix-Timestamp: 1\r\nSvix-Signature: v1,AAAA\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"data\":"
	if err := os.WriteFile(file, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := mockclerk(context.Background(), "verify", "--delivery", "@"+file)
	if code != 1 || !strings.Contains(errOut, "the chunked body is cut or damaged") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// parseCaptured reads files from anywhere: it never panics, and a body it
// finds is never longer than the file.
func FuzzParseCaptured(f *testing.F) {
	f.Add([]byte("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("POST /hook HTTP/1.1\nHost: x\nContent-Length: 4\n\na\r\nb\n"))
	f.Add([]byte("POST /hook HTTP/1.1\nHost: x\nContent-Length: 40\n\n{}"))
	f.Add([]byte(`{"headers": {"svix-id": "msg_1"}, "body": "{\"a\":1}\n"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, body, err := parseCaptured(data)
		if err == nil && (h == nil || len(body) > len(data)) {
			t.Fatalf("header %v, %d-byte body from %d bytes", h, len(body), len(data))
		}
	})
}
