package fakeclerk

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

const testSecret = "whsec_" + "ZmFrZWNsZXJrLXdlYmhvb2stdGVzdC1zZWNyZXQ="

// delivery is one request the receiver got.
type delivery struct {
	header http.Header
	body   []byte
	status int
}

// recorder keeps every delivery, then hands it to next (the real
// clerk-sync handler), or answers fail to the first attempt of each
// message when fail is set.
type recorder struct {
	next http.Handler
	fail int

	mu   sync.Mutex
	got  []delivery
	seen map[string]bool
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	first := !rc.seen[r.Header.Get("svix-id")]
	rc.seen[r.Header.Get("svix-id")] = true
	rc.mu.Unlock()
	status := rc.fail
	if !first || rc.fail == 0 {
		rec := httptest.NewRecorder()
		r.Body = io.NopCloser(bytes.NewReader(body))
		rc.next.ServeHTTP(rec, r)
		status = rec.Code
	}
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body, status: status})
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *recorder) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// receiver serves the real clerk-sync handler on a SQLite store, behind a
// recorder.
func receiver(t *testing.T, fail int) (store.Store, *recorder, string) {
	t.Helper()
	st, _ := storetest.SQLite(t, store.HardDelete)
	secret, err := webhook.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := server.Handlers(server.Config{Path: "/hook", Secret: secret}, st)
	if err != nil {
		t.Fatal(err)
	}
	rc := &recorder{next: h, fail: fail, seen: map[string]bool{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return st, rc, srv.URL + "/hook"
}

func newWebhooks(t *testing.T, url string, schedule []time.Duration, drop float64) *Webhooks {
	t.Helper()
	signer, err := fake.NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWebhooks(WebhookOptions{URL: url, Signer: signer, Schedule: schedule, Drop: drop, Queue: 64, Seed: 1,
		Client: &http.Client{Timeout: 5 * time.Second}, Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { w.Close() })
	return w
}

// write is one API write and what it answered.
type write struct {
	typ, userID string
	answer      []byte
}

// writeSome creates five users, updates each twice and deletes two,
// through the API.
func writeSome(t *testing.T, r *rig) []write {
	t.Helper()
	var ws []write
	do := func(typ, method, path, body string) string {
		code, _, answer := r.do(method, path, body)
		if code != 200 {
			t.Fatalf("%s %s: %d %s", method, path, code, answer)
		}
		var u struct{ ID string }
		json.Unmarshal(answer, &u)
		ws = append(ws, write{typ, u.ID, answer})
		return u.ID
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, do(clerk.UserCreated, "POST", "/v1/users", `{"email_address":["user`+strconv.Itoa(i)+`@example.com"],"first_name":"First"}`))
	}
	for round := range 2 {
		for _, id := range ids {
			do(clerk.UserUpdated, "PATCH", "/v1/users/"+id, `{"first_name":"Round`+strconv.Itoa(round)+`"}`)
		}
	}
	for _, id := range ids[:2] {
		do(clerk.UserDeleted, "DELETE", "/v1/users/"+id, "")
	}
	return ws
}

// Each write through the API fires exactly one webhook, signed with the
// secret, whose data is the object the API answered; the real clerk-sync
// handler applies them, and its table ends equal to the instance's users
// that webhooks announced (the seeded ones predate the endpoint).
func TestWritesFireWebhooksTheReceiverApplies(t *testing.T) {
	st, rc, url := receiver(t, 0)
	hooks := newWebhooks(t, url, fake.NoRetry, 0)
	r := newRig(t, seeded(10), APIOptions{Webhooks: hooks})
	ws := writeSome(t, r)
	hooks.Wait()

	got := rc.deliveries()
	if len(got) != len(ws) {
		t.Fatalf("%d deliveries for %d writes", len(got), len(ws))
	}
	wh, _ := svix.NewWebhook(testSecret)
	byData := map[string]int{}
	for _, d := range got {
		if err := wh.Verify(d.body, d.header); err != nil {
			t.Errorf("delivery %s: %v", d.header.Get("svix-id"), err)
		}
		if d.status != 200 {
			t.Errorf("delivery %s answered %d", d.body, d.status)
		}
		var ev clerk.Event
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatal(err)
		}
		byData[ev.Type+" "+string(ev.Data)]++
		if ev.Type == clerk.UserDeleted && ev.Timestamp <= 1e12 {
			t.Errorf("user.deleted timestamp %d is not in ms", ev.Timestamp)
		}
	}
	for _, w := range ws {
		data := string(w.answer)
		if w.typ == clerk.UserDeleted {
			data = string(deletedData(w.userID))
		}
		if byData[w.typ+" "+data] != 1 {
			t.Errorf("%s %s: %d deliveries carry the API's answer", w.typ, w.userID, byData[w.typ+" "+data])
		}
	}
	rows, err := st.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]*User{}
	for _, w := range ws {
		if u, err := r.in.Get(w.userID); err == nil {
			live[u.ID] = u
		}
	}
	if len(rows) != len(live) || len(live) != 3 {
		t.Fatalf("%d rows, want the %d live users made through the API", len(rows), len(live))
	}
	for _, row := range rows {
		u := live[row.ID]
		if u == nil || *row.FirstName != *u.FirstName || *row.Email != u.PrimaryEmail() || row.UpdatedAt.UnixMilli() != u.UpdatedAt {
			t.Errorf("row %+v does not match the instance's user %+v", row, u)
		}
	}
}

// --drop loses that share of webhooks: none reach the receiver at 1, and
// at 0.5 the dropped and the delivered add up to the writes.
func TestDrop(t *testing.T) {
	for _, tc := range []struct {
		drop     float64
		min, max int
	}{{1, 17, 17}, {0.5, 1, 16}, {0, 0, 0}} { // writeSome makes 17 writes
		_, rc, url := receiver(t, 0)
		hooks := newWebhooks(t, url, fake.NoRetry, tc.drop)
		r := newRig(t, seeded(1), APIOptions{Webhooks: hooks})
		ws := writeSome(t, r)
		hooks.Wait()
		s := hooks.Stats()
		got := len(rc.deliveries())
		if int(s.Dropped) < tc.min || int(s.Dropped) > tc.max || int(s.Delivered) != got || got+int(s.Dropped) != len(ws) {
			t.Errorf("--drop %g: %+v, %d received, %d writes", tc.drop, s, got, len(ws))
		}
	}
}

// A delivery the receiver refuses is retried with the same svix-id, on
// the schedule given.
func TestRetry(t *testing.T) {
	_, rc, url := receiver(t, http.StatusServiceUnavailable)
	hooks := newWebhooks(t, url, fake.FastSchedule, 0)
	r := newRig(t, seeded(1), APIOptions{Webhooks: hooks})
	if code, _, body := r.do("POST", "/v1/users", `{"first_name":"Retry"}`); code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	hooks.Wait()
	got := rc.deliveries()
	if len(got) != 2 || got[0].status != 503 || got[1].status != 200 || got[0].header.Get("svix-id") != got[1].header.Get("svix-id") {
		t.Fatalf("attempts: %+v", got)
	}
	if s := hooks.Stats(); s.Delivered != 1 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// With the queue full, a write still answers at once and its webhook is
// lost and counted, as Clerk's API never waits for its webhooks.
func TestQueueFull(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer stuck.Close()
	defer close(release)
	signer, _ := fake.NewSigner(testSecret)
	hooks := NewWebhooks(WebhookOptions{URL: stuck.URL, Signer: signer, Schedule: fake.NoRetry, Queue: 2,
		Client: &http.Client{Timeout: 5 * time.Second}, Log: slog.New(slog.DiscardHandler)})
	r := newRig(t, seeded(1), APIOptions{Webhooks: hooks})
	start := time.Now()
	for i := range 5 {
		if code, _, body := r.do("POST", "/v1/users", `{"first_name":"N`+strconv.Itoa(i)+`"}`); code != 200 {
			t.Fatalf("create %d: %d %s", i, code, body)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("5 writes took %s with the queue full", d)
	}
	if s := hooks.Stats(); s.Overflowed != 3 {
		t.Errorf("stats %+v, want 3 overflowed", s)
	}
}
