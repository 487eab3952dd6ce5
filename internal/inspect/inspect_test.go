package inspect_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/inspect"
	"github.com/clerk-sync/clerk-sync/internal/replay"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

const testSecret = "whsec_" + "aW5zcGVjdG9yLWJhY2tlbmQtdGVzdC1zZWNyZXQ="

// receiver is a real receiver on a real SQLite file; reports collects its
// reports.
type receiver struct {
	st  store.Store
	url string

	mu      sync.Mutex
	reports []webhook.Report
	started int // requests the receiver has begun to serve
}

func newReceiver(t *testing.T) *receiver {
	st, _ := storetest.SQLite(t, store.HardDelete)
	rc := &receiver{st: st}
	secret, _ := webhook.ParseSecret(testSecret)
	h, _, err := server.Handlers(server.Config{Path: "/hook", Secret: secret, Observe: func(r webhook.Report) {
		rc.mu.Lock()
		rc.reports = append(rc.reports, r)
		rc.mu.Unlock()
	}}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.started++
		rc.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hook"
	return rc
}

// last waits for the report of every request begun so far, and returns
// the newest: the sender has its answer before the report is made.
func (rc *receiver) last() webhook.Report {
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc.mu.Lock()
		if n := len(rc.reports); n >= rc.started || time.Now().After(deadline) {
			defer rc.mu.Unlock()
			return rc.reports[n-1]
		}
		rc.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}

func backend(t *testing.T, rc *receiver) *inspect.Backend {
	signer, err := fake.NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return inspect.New(rc.st, rc.url, signer)
}

func TestBackendAgainstARealReceiver(t *testing.T) {
	rc := newReceiver(t)
	b := backend(t, rc)
	ctx := context.Background()

	if err := b.Send(ctx, "user.updated", ""); err == nil {
		t.Fatal("an update with no user to act on was sent")
	}
	if err := b.Send(ctx, "user.created", ""); err != nil {
		t.Fatal(err)
	}
	created := rc.last()
	if created.Outcome != "applied" || created.Status != 200 {
		t.Fatalf("created: %+v", created)
	}
	if err := b.Send(ctx, "user.updated", ""); err != nil || rc.last().Outcome != "applied" || rc.last().UserID != created.UserID {
		t.Fatalf("update of the last user: %v %+v", err, rc.last())
	}
	// Replay: byte for byte, same svix-id → duplicate.
	if err := b.Replay(ctx, created); err != nil || rc.last().Outcome != "duplicate" || rc.last().SvixID != created.SvixID {
		t.Fatalf("replay: %v %+v", err, rc.last())
	}
	// Resend: a new svix-id for the same (now older) body → stale.
	if err := b.Resend(ctx, created); err != nil || rc.last().Outcome != "stale" || rc.last().SvixID == created.SvixID {
		t.Fatalf("resend: %v %+v", err, rc.last())
	}
	if err := b.Send(ctx, "user.deleted", created.UserID); err != nil || rc.last().Outcome != "applied" {
		t.Fatalf("delete: %v %+v", err, rc.last())
	}
	users, states, err := b.Rows(ctx, store.KindUser)
	if err != nil || len(users) != 0 || len(states) != 1 || !states[0].Deleted {
		t.Fatalf("rows %v, states %+v, %v", users, states, err)
	}
	if err := b.Scenario(ctx, "out-of-order"); err != nil {
		t.Fatal(err)
	}
	if users, _, _ := b.Rows(ctx, store.KindUser); len(users) != 1 {
		t.Fatalf("after out-of-order: %d rows, want the one user that is not deleted", len(users))
	}
	hist, err := b.History(ctx, store.Before(time.Now().Add(time.Minute)), 100)
	if err != nil || len(hist) < 8 {
		t.Fatalf("history: %d rows, %v", len(hist), err)
	}
	if c := b.Curl(created); !strings.Contains(c, rc.url) || !strings.Contains(c, created.SvixID) || !strings.Contains(c, created.UserID) {
		t.Fatalf("curl %q does not send the delivery's headers and body to %s", c, rc.url)
	}
}

// The users that c invents follow the profile set: phone-only users have
// no email, email-required ones always one (the default, mixed, has some
// of each).
func TestSendFollowsTheProfile(t *testing.T) {
	ctx := context.Background()
	for _, p := range []fake.Profile{fake.ProfilePhoneOnly, fake.ProfileEmailRequired} {
		rc := newReceiver(t)
		b := backend(t, rc)
		b.SetProfile(p)
		for range 20 {
			if err := b.Send(ctx, "user.created", ""); err != nil {
				t.Fatal(err)
			}
		}
		users, _, err := b.Rows(ctx, store.KindUser)
		if err != nil || len(users) != 20 {
			t.Fatalf("%s: %d rows, %v", p, len(users), err)
		}
		for _, u := range users {
			if hasEmail := u.Email != nil; hasEmail != (p == fake.ProfileEmailRequired) {
				t.Fatalf("%s: user %s has an email: %v", p, u.ClerkID, hasEmail)
			}
		}
	}
}

// The curl command that y copies, run as it is, delivers the exact signed
// bytes: the receiver answers duplicate. A body too large for the
// inspector to keep comes from the ledger, byte for byte.
func TestCopiedCurlIsAccepted(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: the copied command cannot be run")
	}
	rc := newReceiver(t)
	b := backend(t, rc)
	ctx := context.Background()
	if err := b.Send(ctx, "user.created", ""); err != nil {
		t.Fatal(err)
	}
	small := rc.last()

	g := fake.New(9, time.Now())
	signer, _ := fake.NewSigner(testSecret)
	ev := g.Created(g.NewUser())
	ev.Body, _ = sjson.SetBytes(ev.Body, "data.unsafe_metadata.note", strings.Repeat("x", 20<<10))
	d, err := g.Deliver(signer, ev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := fake.Post(ctx, http.DefaultClient, rc.url, d); err != nil || resp.Outcome != "applied" {
		t.Fatalf("large delivery: %+v %v", resp, err)
	}
	big := rc.last()
	big.Body = nil // as the inspector keeps it
	if big.Body, err = b.Body(ctx, big.SvixID); err != nil || !bytes.Equal(big.Body, d.Body) {
		t.Fatalf("body from the ledger: %d bytes, %v; want the %d sent", len(big.Body), err, len(d.Body))
	}

	for name, del := range map[string]webhook.Report{"small": small, "large, from the ledger": big} {
		out, err := exec.CommandContext(ctx, "sh", "-c", b.Curl(del)).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: curl: %v\n%s", name, err, out)
		}
		if got := rc.last(); got.SvixID != del.SvixID || got.Status != http.StatusOK || got.Outcome != "duplicate" {
			t.Errorf("%s: the copied command got %d %s %s (%s), want 200 duplicate", name, got.Status, got.Outcome, got.Reason, out)
		}
	}
}

// A delivery whose body retention has pruned says so when it is opened,
// replayed or re-sent, instead of sending nothing.
func TestPrunedBodySaysSo(t *testing.T) {
	rc := newReceiver(t)
	b := backend(t, rc)
	ctx := context.Background()
	if err := b.Send(ctx, "user.created", ""); err != nil {
		t.Fatal(err)
	}
	id := rc.last().SvixID
	if body, err := b.Body(ctx, id); err != nil || len(body) == 0 {
		t.Fatalf("before pruning: %d bytes, %v", len(body), err)
	}
	for {
		p, err := rc.st.Prune(ctx, store.Cutoffs{Payloads: time.Now().Add(time.Hour)}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Yielded { // the writer was busy with the delivery a moment ago
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := b.Body(ctx, id); !errors.Is(err, replay.ErrPruned) {
		t.Fatalf("the body of a pruned delivery: %v, want ErrPruned", err)
	}
	recs, err := b.History(ctx, store.Before(time.Now().Add(time.Hour)), 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("history: %d, %v", len(recs), err)
	}
	d := tui.Delivery{SvixID: id, Body: recs[0].Payload}
	for name, act := range map[string]func(context.Context, tui.Delivery) error{"replay": b.Replay, "resend": b.Resend} {
		if err := act(ctx, d); !errors.Is(err, replay.ErrPruned) {
			t.Errorf("%s of a pruned delivery: %v, want ErrPruned", name, err)
		}
	}
}
