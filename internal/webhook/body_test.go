package webhook

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/syncer"
)

// limitsRig is a receiver on a real SQLite file behind a real HTTP server,
// with small limits, and the means to send it slow requests.
type limitsRig struct {
	t      *testing.T
	addr   string
	signer *fake.Signer
	gen    *fake.Generator
}

func newLimitsRig(t *testing.T, opts Options) *limitsRig {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "limits.db"), mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	secret, _ := ParseSecret(vectorSecret)
	v, err := NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(v, syncer.New(st), opts))
	t.Cleanup(srv.Close)
	signer, err := fake.NewSigner(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &limitsRig{t: t, addr: srv.Listener.Addr().String(), signer: signer, gen: fake.New(7, time.Now())}
}

// open starts a POST with svix headers that declares length bytes of body
// (-1: chunked) and sends the first sent of them; the caller sends more or
// reads the answer.
func (r *limitsRig) open(length, sent int) net.Conn {
	r.t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	head := "POST /api/webhooks/clerk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"svix-id: msg_slow\r\nsvix-timestamp: " + strconv.FormatInt(time.Now().Unix(), 10) + "\r\n" +
		"svix-signature: v1,AAAA\r\n"
	if length >= 0 {
		head += "Content-Length: " + strconv.Itoa(length) + "\r\n\r\n"
	} else {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	}
	if _, err := c.Write([]byte(head)); err != nil {
		r.t.Fatal(err)
	}
	r.write(c, length < 0, sent)
	return c
}

// write sends n more bytes of body, as one chunk when chunked.
func (r *limitsRig) write(c net.Conn, chunked bool, n int) {
	r.t.Helper()
	if n == 0 {
		return
	}
	b := bytes.Repeat([]byte("x"), n)
	if chunked {
		b = append(append([]byte(fmt.Sprintf("%x\r\n", n)), b...), "\r\n"...)
	}
	if _, err := c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// answer reads the response on c within d.
func (r *limitsRig) answer(c net.Conn, d time.Duration) (*http.Response, Answer) {
	r.t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		r.t.Fatalf("no answer within %s: %v", d, err)
	}
	defer resp.Body.Close()
	var ans Answer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		r.t.Fatalf("answer is not JSON: %v", err)
	}
	return resp, ans
}

// silent checks that c has no answer yet: the handler is still reading.
func (r *limitsRig) silent(c net.Conn) {
	r.t.Helper()
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n > 0 || !isTimeout(err) {
		r.t.Fatalf("answered before the body was sent: %d bytes, %v", n, err)
	}
}

// deliver sends a small signed event and returns the status.
func (r *limitsRig) deliver() int {
	r.t.Helper()
	d, err := r.gen.Deliver(r.signer, r.gen.Created(r.gen.NewUser()), time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := fake.Post(r.t.Context(), http.DefaultClient, "http://"+r.addr+"/api/webhooks/clerk", d)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.Status
}

// A declared body over the limit is refused from its headers alone: the
// sender has sent none of it.
func TestContentLengthOverTheLimitIsRefusedUnread(t *testing.T) {
	r := newLimitsRig(t, Options{MaxBody: 1 << 10, BodyTimeout: 5 * time.Second})
	c := r.open(1<<20, 0)
	resp, ans := r.answer(c, time.Second)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || ans.Reason != ReasonTooLarge || !resp.Close {
		t.Fatalf("got %d %+v (close %v), want 413 too-large and the connection closed", resp.StatusCode, ans, resp.Close)
	}
}

// An undeclared (chunked) body is cut as soon as it passes the limit.
func TestChunkedBodyOverTheLimit(t *testing.T) {
	r := newLimitsRig(t, Options{MaxBody: 1 << 10, BodyTimeout: 5 * time.Second})
	c := r.open(-1, 2<<10)
	if resp, ans := r.answer(c, time.Second); resp.StatusCode != http.StatusRequestEntityTooLarge || ans.Reason != ReasonTooLarge {
		t.Fatalf("got %d %+v, want 413 too-large", resp.StatusCode, ans)
	}
}

// A body that trickles in is cut by the body's deadline.
func TestSlowBodyIsCut(t *testing.T) {
	r := newLimitsRig(t, Options{BodyTimeout: 300 * time.Millisecond})
	c := r.open(1000, 10)
	start := time.Now()
	resp, ans := r.answer(c, 3*time.Second)
	if resp.StatusCode != http.StatusRequestTimeout || ans.Reason != ReasonSlowBody || !resp.Close {
		t.Fatalf("got %d %+v (close %v), want 408 slow-body and the connection closed", resp.StatusCode, ans, resp.Close)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("cut after %s", waited)
	}
}

// The budget is shared by every request: large bodies in flight take at
// most three quarters of it, and one that finds no room is refused at
// once with 503 and Retry-After, while small deliveries still get through
// and the bytes come back once a body is answered.
func TestBudgetOfBodiesInFlight(t *testing.T) {
	r := newLimitsRig(t, Options{MaxBody: 256 << 10, MaxInFlight: 512 << 10, BodyTimeout: 10 * time.Second})
	// Holds 256 KiB of the 384 KiB that large bodies may take.
	first := r.open(256<<10, 200<<10)
	r.silent(first)
	// Takes 128 KiB more, then finds no room.
	second := r.open(256<<10, 200<<10)
	resp, ans := r.answer(second, time.Second)
	if resp.StatusCode != http.StatusServiceUnavailable || ans.Reason != ReasonBusy || resp.Header.Get("Retry-After") == "" || !resp.Close {
		t.Fatalf("second large body: got %d %+v %v, want 503 busy with Retry-After", resp.StatusCode, ans, resp.Header)
	}
	// A chunked body declares no size: it counts as large.
	chunked := r.open(-1, 130<<10)
	if resp, ans := r.answer(chunked, time.Second); resp.StatusCode != http.StatusServiceUnavailable || ans.Reason != ReasonBusy {
		t.Fatalf("chunked body: got %d %+v, want 503 busy", resp.StatusCode, ans)
	}
	if code := r.deliver(); code != http.StatusOK {
		t.Fatalf("a small delivery while large bodies fill their share: %d, want 200", code)
	}
	// The first body ends (and is refused as unsigned): its bytes return.
	r.write(first, false, 56<<10)
	if resp, ans := r.answer(first, 3*time.Second); resp.StatusCode != http.StatusBadRequest || ans.Reason != ReasonBadSignature {
		t.Fatalf("first body: got %d %+v, want 400 bad-signature", resp.StatusCode, ans)
	}
	again := r.open(256<<10, 256<<10)
	if resp, ans := r.answer(again, 3*time.Second); resp.StatusCode != http.StatusBadRequest || ans.Reason != ReasonBadSignature {
		t.Fatalf("a large body once the budget is free: got %d %+v, want 400 bad-signature", resp.StatusCode, ans)
	}
}

func TestBudgetTakeAndGive(t *testing.T) {
	b := newBudget(100)
	steps := []struct {
		n     int64
		large bool
		give  bool
		want  bool
	}{
		{70, true, false, true},  // large: 70 of 75
		{10, true, false, false}, // large: 80 > 75
		{30, false, false, true}, // all: 100 of 100
		{1, false, false, false}, // all: full
		{70, true, true, true},   // give the large 70 back
		{70, false, false, true}, // small: 100 of 100 again
		{1, true, false, false},  // all is full though large is free
	}
	for i, s := range steps {
		if s.give {
			b.give(s.n, s.large)
			continue
		}
		if got := b.take(s.n, s.large); got != s.want {
			t.Fatalf("step %d: take(%d, large %v) = %v, want %v", i, s.n, s.large, got, s.want)
		}
	}
}

// The sender has its answer before the observer sees the report: a slow
// log or inspector does not delay it.
func TestAnswerBeforeObserver(t *testing.T) {
	release := make(chan struct{})
	secret, _ := ParseSecret(vectorSecret)
	v, err := NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(v, Options{Observe: func(Report) { <-release }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release) // before Close, which waits for the handler
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("no answer while the observer is busy: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 (no svix headers)", resp.StatusCode)
	}
}

// Answers declare their length: flushed before the handler ends, they
// would otherwise go out chunked.
func TestAnswersDeclareTheirLength(t *testing.T) {
	r := newLimitsRig(t, Options{Observe: func(Report) {}})
	c := r.open(0, 0)
	resp, _ := r.answer(c, 2*time.Second)
	if resp.ContentLength <= 0 || len(resp.TransferEncoding) > 0 {
		t.Fatalf("Content-Length %d, Transfer-Encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
}
