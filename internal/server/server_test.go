package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testSecret = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLXRoZS1jb250cmFjdC10ZXN0cw=="

const maxBody = 64 << 10

// rig is a receiver on a real store, served over real HTTP.
type rig struct {
	t      *testing.T
	st     store.Store
	exec   func(string) error
	url    string
	g      *fake.Generator
	signer *fake.Signer
}

func newRig(t *testing.T, st store.Store, exec func(string) error) *rig {
	secret, err := webhook.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := server.Handlers(server.Config{Path: "/api/webhooks/clerk", Secret: secret, MaxBody: maxBody}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	signer, err := fake.NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, st: st, exec: exec, url: srv.URL, g: fake.New(3, time.Now().Add(-time.Hour)), signer: signer}
}

// deliver signs ev now with a fresh svix-id.
func (r *rig) deliver(ev fake.Event) fake.Delivery {
	r.t.Helper()
	d, err := r.g.Deliver(r.signer, ev, time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

// post sends a request to the webhook path and decodes the answer.
func (r *rig) post(method string, header http.Header, body io.Reader) (int, webhook.Answer) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+"/api/webhooks/clerk", body)
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans webhook.Answer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		r.t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, ans
}

func (r *rig) send(d fake.Delivery) (int, webhook.Answer) {
	r.t.Helper()
	return r.post(http.MethodPost, d.Header, bytes.NewReader(d.Body))
}

// expect sends d and checks the status and outcome.
func (r *rig) expect(d fake.Delivery, status int, outcome store.Outcome) webhook.Answer {
	r.t.Helper()
	code, ans := r.send(d)
	if code != status || ans.Outcome != string(outcome) {
		r.t.Fatalf("%s: got %d %+v, want %d %s", d.Event.Type, code, ans, status, outcome)
	}
	if ans.SvixID != d.ID {
		r.t.Fatalf("answer names svix-id %q, want %q", ans.SvixID, d.ID)
	}
	return ans
}

// stored returns the ledger outcome of a svix-id, or "" when there is no row.
func (r *rig) stored(id string) store.Outcome {
	r.t.Helper()
	rec, err := r.st.Delivery(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return rec.Outcome
}

func (r *rig) hasRow(userID string) bool {
	r.t.Helper()
	users, err := r.st.Users(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, u := range users {
		if u.ID == userID {
			return true
		}
	}
	return false
}

func TestContractSQLite(t *testing.T) {
	runContract(t, func(t *testing.T) *rig {
		st, exec := storetest.SQLite(t, store.HardDelete)
		return newRig(t, st, exec)
	})
}

func TestContractPostgres(t *testing.T) {
	runContract(t, func(t *testing.T) *rig {
		st, exec := storetest.Postgres(t, store.HardDelete)
		return newRig(t, st, exec)
	})
}

// runContract checks every row of the contract table (DESIGN §3).
func runContract(t *testing.T, open func(t *testing.T) *rig) {
	r := open(t)
	rejected := func(t *testing.T, d fake.Delivery, header http.Header, body []byte, status int, reason string) {
		t.Helper()
		code, ans := r.post(http.MethodPost, header, bytes.NewReader(body))
		if code != status || ans.Outcome != "rejected" || ans.Reason != reason || ans.Error == "" {
			t.Fatalf("got %d %+v, want %d rejected %s", code, ans, status, reason)
		}
		if o := r.stored(d.ID); o != "" {
			t.Fatalf("a refused delivery was stored as %s", o)
		}
		if r.hasRow(d.Event.UserID) {
			t.Fatal("a refused delivery wrote a row")
		}
	}
	t.Run("missing svix headers → 400", func(t *testing.T) {
		d := r.deliver(r.g.Created(r.g.NewUser()))
		for _, name := range []string{"svix-id", "svix-timestamp", "svix-signature"} {
			h := d.Header.Clone()
			h.Del(name)
			rejected(t, d, h, d.Body, 400, webhook.ReasonMissingHeaders)
		}
	})
	t.Run("bad signature → 400", func(t *testing.T) {
		d := r.deliver(r.g.Created(r.g.NewUser()))
		tampered := bytes.Replace(d.Body, []byte(`"user.created"`), []byte(`"user.updated"`), 1)
		rejected(t, d, d.Header, tampered, 400, webhook.ReasonBadSignature)
	})
	t.Run("timestamp outside ±5 min → 400", func(t *testing.T) {
		for _, tc := range []struct {
			off    time.Duration
			reason string
		}{{-6 * time.Minute, webhook.ReasonTooOld}, {6 * time.Minute, webhook.ReasonTooNew}} {
			d, err := r.g.Deliver(r.signer, r.g.Created(r.g.NewUser()), time.Now().Add(tc.off))
			if err != nil {
				t.Fatal(err)
			}
			rejected(t, d, d.Header, d.Body, 400, tc.reason)
		}
	})
	t.Run("body over the limit → 413", func(t *testing.T) {
		ev := r.g.Created(r.g.NewUser())
		ev.Body, _ = sjson.SetBytes(ev.Body, "data.unsafe_metadata.blob", strings.Repeat("x", maxBody))
		d := r.deliver(ev)
		rejected(t, d, d.Header, d.Body, 413, webhook.ReasonTooLarge)
		// Without a Content-Length the limit holds while reading.
		code, ans := r.post(http.MethodPost, d.Header, io.MultiReader(bytes.NewReader(d.Body)))
		if code != 413 || ans.Reason != webhook.ReasonTooLarge {
			t.Fatalf("chunked: got %d %+v", code, ans)
		}
	})
	t.Run("not POST → 405", func(t *testing.T) {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			code, ans := r.post(m, nil, nil)
			if code != 405 || ans.Reason != webhook.ReasonMethod {
				t.Fatalf("%s: got %d %+v", m, code, ans)
			}
		}
	})
	t.Run("verified but not JSON, or no data.id → 400, recorded as rejected", func(t *testing.T) {
		noID := r.g.Created(r.g.NewUser())
		noID.Body, _ = sjson.DeleteBytes(noID.Body, "data.id")
		deletedNoID := r.g.Deleted(r.g.NewUser())
		deletedNoID.Body, _ = sjson.DeleteBytes(deletedNoID.Body, "data.id")
		for _, ev := range []fake.Event{{Type: "?", Body: []byte("not json")}, noID, deletedNoID} {
			d := r.deliver(ev)
			ans := r.expect(d, 400, store.Rejected)
			if ans.Reason != webhook.ReasonMalformed || ans.Error == "" {
				t.Fatalf("answer %+v", ans)
			}
			if o := r.stored(d.ID); o != store.Rejected {
				t.Fatalf("ledger: %q, want rejected", o)
			}
		}
	})
	t.Run("created → applied; same svix-id again → duplicate", func(t *testing.T) {
		u := r.g.NewUser()
		d := r.deliver(r.g.Created(u))
		if ans := r.expect(d, 200, store.Applied); ans.UserID != u.ID {
			t.Fatalf("answer names user %q, want %q", ans.UserID, u.ID)
		}
		if !r.hasRow(u.ID) {
			t.Fatal("no row")
		}
		r.expect(d, 200, store.Duplicate)
	})
	t.Run("update for an unknown user creates it; older events are stale", func(t *testing.T) {
		u := r.g.NewUser()
		created := r.deliver(r.g.Created(u))
		older := r.deliver(r.g.Updated(u))
		r.expect(r.deliver(r.g.Updated(u)), 200, store.Applied)
		if !r.hasRow(u.ID) {
			t.Fatal("no row")
		}
		r.expect(older, 200, store.Stale)
		r.expect(created, 200, store.Stale)
	})
	t.Run("deleted → applied, row gone, tombstone keeps late events out", func(t *testing.T) {
		u := r.g.NewUser()
		r.expect(r.deliver(r.g.Created(u)), 200, store.Applied)
		late := r.deliver(r.g.Updated(u))
		r.expect(r.deliver(r.g.Deleted(u)), 200, store.Applied)
		if r.hasRow(u.ID) {
			t.Fatal("row still there")
		}
		r.expect(late, 200, store.Stale)
		if r.hasRow(u.ID) {
			t.Fatal("a late update brought the user back")
		}
	})
	t.Run("deleted for an unknown user → applied (tombstone only)", func(t *testing.T) {
		u := r.g.NewUser()
		created := r.deliver(r.g.Created(u))
		r.expect(r.deliver(r.g.Deleted(u)), 200, store.Applied)
		r.expect(created, 200, store.Stale)
		if r.hasRow(u.ID) {
			t.Fatal("row exists")
		}
	})
	t.Run("organization and membership events → applied, answered with their ids", func(t *testing.T) {
		u, o := r.g.NewUser(), r.g.NewOrg(nil)
		m := r.g.NewMember(o, u)
		if ans := r.expect(r.deliver(r.g.MemberCreated(m)), 200, store.Applied); ans.ID != m.ID || ans.UserID != u.ID {
			t.Fatalf("membership answer %+v, want id %s and user_id %s", ans, m.ID, u.ID)
		}
		if ans := r.expect(r.deliver(r.g.OrgCreated(o)), 200, store.Applied); ans.ID != o.ID || ans.UserID != "" {
			t.Fatalf("organization answer %+v, want id %s and no user_id", ans, o.ID)
		}
		r.expect(r.deliver(r.g.OrgDeleted(o)), 200, store.Applied)
		if rows, err := r.st.Rows(context.Background(), store.KindMembership); err != nil || len(rows) != 0 {
			t.Fatalf("memberships after the organization's deletion: %+v %v", rows, err)
		}
	})
	t.Run("other event types → ignored, recorded", func(t *testing.T) {
		for _, typ := range []string{"session.created", "organizationInvitation.created", "email.created"} {
			d := r.deliver(r.g.Other(typ, nil))
			r.expect(d, 200, store.Ignored)
			if o := r.stored(d.ID); o != store.Ignored {
				t.Fatalf("ledger: %q", o)
			}
			r.expect(d, 200, store.Duplicate)
		}
	})
	t.Run("permanent database error → 500, recorded as failed", func(t *testing.T) {
		if err := r.exec(`CREATE UNIQUE INDEX "User_username_key" ON "User"("username")`); err != nil {
			t.Fatal(err)
		}
		defer r.exec(`DROP INDEX "User_username_key"`) //nolint:errcheck // best effort
		a, b := r.g.NewUser(), r.g.NewUser()
		name := "same-" + a.ID
		a.Username, b.Username = &name, &name
		r.expect(r.deliver(r.g.Created(a)), 200, store.Applied)
		d := r.deliver(r.g.Created(b))
		ans := r.expect(d, 500, store.Failed)
		if ans.Reason != webhook.ReasonDatabase || strings.Contains(ans.Error, "User_username_key") {
			t.Fatalf("answer %+v: want database-error without the database's internals", ans)
		}
		rec, err := r.st.Delivery(context.Background(), d.ID)
		if err != nil || rec.Outcome != store.Failed || !strings.Contains(strings.ToLower(rec.Error), "unique") {
			t.Fatalf("ledger %+v %v: want failed with the database's message", rec, err)
		}
	})
	t.Run("each way mockclerk spoils a delivery is refused with its reason", func(t *testing.T) {
		for _, tc := range []struct {
			shape  fake.Shape
			status int
			reason string
		}{
			{fake.Shape{Tamper: fake.TamperBody}, 400, webhook.ReasonBadSignature},
			{fake.Shape{Tamper: fake.TamperSignature}, 400, webhook.ReasonBadSignature},
			{fake.Shape{Tamper: fake.TamperSecret}, 400, webhook.ReasonBadSignature},
			{fake.Shape{Skew: -6 * time.Minute}, 400, webhook.ReasonTooOld},
			{fake.Shape{Skew: 6 * time.Minute}, 400, webhook.ReasonTooNew},
			{fake.Shape{NoSign: true}, 400, webhook.ReasonMissingHeaders},
			{fake.Shape{Headers: fake.HeadersWebhook}, 200, ""},
		} {
			d := r.deliver(r.g.Created(r.g.NewUser()))
			h, body, err := tc.shape.Sign(r.signer, d, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			code, ans := r.post(http.MethodPost, h, bytes.NewReader(body))
			if code != tc.status || ans.Reason != tc.reason {
				t.Errorf("%+v: got %d %+v, want %d %s", tc.shape, code, ans, tc.status, tc.reason)
			}
		}
	})
	t.Run("healthz and readyz", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(r.url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
		}
	})
}

// A database that cannot be reached answers 503 and records nothing, so
// Svix retries; once it is back the same delivery applies.
func TestDatabaseUnreachable(t *testing.T) {
	cluster := pgtest.Own(t)
	url, err := cluster.CreateDatabase(context.Background(), "unreachable")
	if err != nil {
		t.Fatal(err)
	}
	st, exec := storetest.PostgresAt(t, url, store.HardDelete)
	r := newRig(t, st, exec)
	u := r.g.NewUser()
	d := r.deliver(r.g.Created(u))
	if err := cluster.Halt(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, ans := r.send(d)
	if code != 503 || ans.Outcome != "failed" || ans.Reason != webhook.ReasonUnavailable {
		t.Fatalf("got %d %+v, want 503 failed unavailable", code, ans)
	}
	resp, err := http.Get(r.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("readyz with the database down: %d", resp.StatusCode)
	}
	if err := cluster.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := r.stored(d.ID); o != "" {
		t.Fatalf("the failed delivery was recorded as %s", o)
	}
	r.expect(d, 200, store.Applied)
	if !r.hasRow(u.ID) {
		t.Fatal("no row after the retry")
	}
}

// SQLite cannot go away like a server; a closed store stands in for a
// broken file and takes the same path.
func TestStoreClosedSQLite(t *testing.T) {
	st, exec := storetest.SQLite(t, store.HardDelete)
	r := newRig(t, st, exec)
	st.Close()
	code, ans := r.send(r.deliver(r.g.Created(r.g.NewUser())))
	if code != 503 || ans.Reason != webhook.ReasonUnavailable {
		t.Fatalf("got %d %+v, want 503 unavailable", code, ans)
	}
}
