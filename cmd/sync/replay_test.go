package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// replay sends ledger rows to a running receiver again: named ones by
// svix-id (an applied one answers duplicate), or every failed one since a
// while (a failed one is applied now); an unknown id is named, and any
// miss makes the exit code 1.
func TestReplay(t *testing.T) {
	inTempDir(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
	lines, _, _ := start(t, "--addr", "127.0.0.1:0")
	url := strings.Fields(until(t, lines, "POST "))[2]
	// The endpoint's checklist comes at start, tunnel or not.
	until(t, lines, "Local URL        "+url+" (local: Clerk reaches it only through a tunnel, --tunnel")
	until(t, lines, "Subscribe to     user.created, user.updated, user.deleted")
	if l := until(t, lines, "Signing Secret"); !strings.Contains(l, "from environment") && !strings.Contains(l, "CLERK_WEBHOOK_SIGNING_SECRET") {
		t.Errorf("the checklist does not say where the secret came from: %q", l)
	}

	signer, err := fake.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	g := fake.New(1, time.Now())
	dv := &fake.Deliverer{Client: http.DefaultClient, URL: url, Signer: signer}
	applied := fake.Delivery{ID: "msg_applied", Event: g.Created(g.NewUser())}
	applied.Body = applied.Event.Body
	if a := dv.Deliver(context.Background(), applied); a.Response.Outcome != "applied" {
		t.Fatalf("first delivery: %+v", a)
	}
	// Two deliveries recorded as failed, as the database would have
	// refused them: one an hour ago, one three hours ago.
	ctx := context.Background()
	st, _, err := server.OpenStore(ctx, DefaultDB, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	for id, ago := range map[string]time.Duration{"msg_recent": time.Hour, "msg_old": 3 * time.Hour} {
		u := g.NewUser()
		ev := g.Created(u)
		d := store.Delivery{SvixID: id, Type: "user.created", UserID: u.ID, ReceivedAt: time.Now().Add(-ago), Payload: ev.Body}
		if _, err := st.Record(ctx, d, store.Failed, "a unique index refused it"); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	replay := func(args ...string) (string, int) {
		var out, errb safeBuffer
		code := run(ctx, append([]string{"replay", "--to", url}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := replay("--failed", "--since", "2h")
	if code != 0 || !strings.Contains(out, "msg_recent  user.created") || !strings.Contains(out, "--> 200 applied") || strings.Contains(out, "msg_old") {
		t.Errorf("replay --failed --since 2h: exit %d\n%s", code, out)
	}
	out, code = replay("msg_applied", "msg_nosuch")
	if code != 1 || !strings.Contains(out, "msg_applied  user.created") || !strings.Contains(out, "--> 200 duplicate") ||
		!strings.Contains(out, "msg_nosuch  error: the ledger has no delivery msg_nosuch") {
		t.Errorf("replay msg_applied msg_nosuch: exit %d\n%s", code, out)
	}
	out, code = replay("--failed")
	if code != 0 || !strings.Contains(out, "msg_old") {
		t.Errorf("replay --failed: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{nil, {"--failed", "msg_x"}, {"msg_x", "--since", "1h"}} {
		if out, code := replay(args...); code != 2 {
			t.Errorf("replay %q: exit %d, want 2 (usage)\n%s", args, code, out)
		}
	}
	if out, code := replay("--to", "http://127.0.0.1:1/api/webhooks/clerk", "msg_applied"); code != 1 || !strings.Contains(out, "is clerk-sync running there?") {
		t.Errorf("replay to nowhere: exit %d\n%s", code, out)
	}

	// A failed delivery whose body is gone says so, not the error it
	// failed with.
	st, _, err = server.OpenStore(ctx, DefaultDB, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	pruned := store.Delivery{SvixID: "msg_pruned", Type: "user.created", UserID: "user_pruned", ReceivedAt: time.Now().Add(-time.Minute), Payload: []byte{}} // as pruning leaves it
	if _, err := st.Record(ctx, pruned, store.Failed, "a unique index refused it"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, code = replay("--failed", "--since", "2h")
	if code != 1 || !strings.Contains(out, "msg_pruned  error: delivery msg_pruned: its body is no longer stored") {
		t.Errorf("replay --failed with a pruned body: exit %d\n%s", code, out)
	}
}
