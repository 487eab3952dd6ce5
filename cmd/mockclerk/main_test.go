package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

func TestSecret(t *testing.T) {
	dir := setup(t)
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", "")
	code, out, _ := mockclerk(context.Background(), "secret")
	raw := strings.TrimSpace(out)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(raw, "whsec_"))
	if code != 0 || !strings.HasPrefix(raw, "whsec_") || err != nil || len(key) < 24 {
		t.Fatalf("exit %d, %q", code, out)
	}
	env := filepath.Join(dir, ".env.local")
	os.WriteFile(env, []byte("# mine\nDATABASE_URL=postgres://x\n"), 0o600)
	code, out, _ = mockclerk(context.Background(), "secret", "--write-env")
	if code != 0 || strings.Contains(out, "whsec_") && !strings.Contains(out, "whsec_…") {
		t.Fatalf("exit %d, %q (the secret must not be printed)", code, out)
	}
	b, _ := os.ReadFile(env)
	if !strings.HasPrefix(string(b), "# mine\nDATABASE_URL=postgres://x\nCLERK_WEBHOOK_SIGNING_SECRET=whsec_") {
		t.Fatalf(".env.local: %q", b)
	}
	if _, written, _ := strings.Cut(strings.TrimSpace(string(b)), "CLERK_WEBHOOK_SIGNING_SECRET="); strings.Contains(out, written) {
		t.Fatalf("the secret written to .env.local is printed: %q", out)
	}
	if code, out, _ := mockclerk(context.Background(), "secret", "--write-env", "--if-missing"); code != 0 || !strings.Contains(out, "already set") {
		t.Fatalf("--if-missing: exit %d %q", code, out)
	}
	if b2, _ := os.ReadFile(env); string(b2) != string(b) {
		t.Fatal("--if-missing replaced the secret")
	}
	os.WriteFile(env, []byte("CLERK_WEBHOOK_SIGNING_SECRET=oops\n"), 0o600)
	if code, _, errOut := mockclerk(context.Background(), "secret", "--write-env", "--if-missing"); code != 1 || !strings.Contains(errOut, "not usable") {
		t.Fatalf("a broken secret: exit %d %q", code, errOut)
	}
}

func TestSendAgainstTheReceiver(t *testing.T) {
	setup(t)
	st, _ := storetest.SQLite(t, store.HardDelete)
	url := receiver(t, st)
	ctx := context.Background()
	code, out, errOut := mockclerk(ctx, "send", "user.created", "--to", url, "--set", "first_name=Grace", "--duplicate", "1")
	if code != 0 || !strings.Contains(out, "--> user.created user_") || !strings.Contains(out, "<-- 200 applied") || !strings.Contains(out, "<-- 200 duplicate") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if users, _ := st.Users(ctx); len(users) != 1 || *users[0].FirstName != "Grace" {
		t.Fatalf("rows %+v", users)
	}
	// user.updated acts on the user just created.
	if code, out, _ := mockclerk(ctx, "send", "user.updated", "--to", url, "--override", "last_name=Hopper"); code != 0 || !strings.Contains(out, "200 applied") {
		t.Fatalf("update: exit %d\n%s", code, out)
	}
	if users, _ := st.Users(ctx); len(users) != 1 || *users[0].LastName != "Hopper" {
		t.Fatalf("rows %+v", users)
	}
	if code, out, _ := mockclerk(ctx, "send", "user.deleted", "--to", url); code != 0 || !strings.Contains(out, "200 applied") {
		t.Fatalf("delete: exit %d\n%s", code, out)
	}
	if users, _ := st.Users(ctx); len(users) != 0 {
		t.Fatalf("rows after delete %+v", users)
	}
	// A late update of the deleted user is stale.
	if code, out, _ := mockclerk(ctx, "send", "user.updated", "--to", url); code != 0 || !strings.Contains(out, "200 stale") {
		t.Fatalf("late update: exit %d\n%s", code, out)
	}
	// The hard cases come back refused, with the reason, and exit 1.
	for flag, reason := range map[string]string{"--tamper=body": "bad-signature", "--tamper=secret": "bad-signature", "--stale=6m": "too-old", "--no-sign": "missing-headers"} {
		code, out, _ := mockclerk(ctx, "send", "user.created", "--to", url, flag)
		if code != 1 || !strings.Contains(out, "400 rejected ("+reason+")") || !strings.Contains(out, "1 4xx") {
			t.Errorf("%s: exit %d\n%s", flag, code, out)
		}
	}
	data := filepath.Join(t.TempDir(), "data.json")
	os.WriteFile(data, []byte(`{"id":"user_fromfile","updated_at":1700000000000,"created_at":1700000000000,"first_name":"File"}`), 0o600)
	if code, out, _ := mockclerk(ctx, "send", "user.created", "--to", url, "--data", "@"+data); code != 0 || !strings.Contains(out, "user_fromfile") {
		t.Fatalf("--data: exit %d\n%s", code, out)
	}
}

// Organization and membership events act on the last organization, user
// and membership mockclerk made, or on --org and --user.
func TestSendOrganizations(t *testing.T) {
	setup(t)
	st, _ := storetest.SQLite(t, store.HardDelete)
	url := receiver(t, st)
	ctx := context.Background()
	send := func(args ...string) string {
		t.Helper()
		code, out, errOut := mockclerk(ctx, append([]string{"send", "--to", url}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	rows := func(kind store.Kind) []store.User {
		t.Helper()
		r, err := st.Rows(ctx, kind)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if code, _, errOut := mockclerk(ctx, "send", "organization.updated", "--to", url); code != 2 || !strings.Contains(errOut, "no organization to act on") {
		t.Fatalf("update before any organization: exit %d %s", code, errOut)
	}
	if out := send("organization.created"); !strings.Contains(out, "--> organization.created org_") {
		t.Fatalf("the line names no organization:\n%s", out)
	}
	// In ndjson too, the organization's id is the line's id.
	if out := send("organization.updated", "--output", "ndjson"); !strings.Contains(out, `"type":"organization.updated","id":"org_`) {
		t.Fatalf("the ndjson line names no organization:\n%s", out)
	}
	send("user.created", "--set", "first_name=Ada")
	send("organizationMembership.created", "--set", "role=org:admin")
	orgs, members, users := rows(store.KindOrganization), rows(store.KindMembership), rows(store.KindUser)
	if len(orgs) != 1 || len(members) != 1 || len(users) != 1 ||
		members[0].Other["organization_id"] != orgs[0].ClerkID || members[0].Other["user_id"] != users[0].ClerkID || members[0].Other["role"] != "org:admin" {
		t.Fatalf("organizations %+v\nmemberships %+v\nusers %+v", orgs, members, users)
	}
	send("organizationMembership.updated")
	if m := rows(store.KindMembership); len(m) != 1 || m[0].Other["role"] != "org:member" {
		t.Fatalf("after the role change: %+v", m)
	}
	send("organization.updated")
	if o := rows(store.KindOrganization); len(o) != 1 || o[0].Other["name"] == orgs[0].Other["name"] {
		t.Fatalf("after the rename: %+v, was %+v", o, orgs)
	}
	send("organizationMembership.updated") // still the same membership, after the organization's event
	if m := rows(store.KindMembership); len(m) != 1 || m[0].Other["role"] != "org:admin" {
		t.Fatalf("after the organization's rename, the role change: %+v", m)
	}
	other := "org_2otherOrganizationId000000"
	send("organizationMembership.created", "--org", other, "--user", users[0].ClerkID)
	if m := rows(store.KindMembership); len(m) != 2 {
		t.Fatalf("a membership of --org: %+v", m)
	}
	send("organization.deleted") // the last one acted on: other
	send("organization.deleted", "--org", orgs[0].ClerkID)
	if o, m := rows(store.KindOrganization), rows(store.KindMembership); len(o) != 0 || len(m) != 0 {
		t.Fatalf("after both deletions: organizations %+v, memberships %+v", o, m)
	}
	if out := send("organizationMembership.updated"); !strings.Contains(out, "200 stale") {
		t.Fatalf("a late membership update after its organization's deletion:\n%s", out)
	}
}

func TestSendMistakes(t *testing.T) {
	setup(t)
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"send", "user.nope"}, 2, "known: organization.created, organization.deleted"},
		{[]string{"send", "user.updated"}, 2, "no user to act on"},
		{[]string{"send", "user.created", "--set", "nonsense"}, 2, "want path=value"},
		{[]string{"send", "user.created", "--data", `[1]`}, 2, "--data: not a JSON object"},
		{[]string{"send", "user.created", "--tamper", "wrongly"}, 2, "want body, signature or secret"},
		{[]string{"send", "user.created", "--rate", "fast"}, 2, "--rate"},
		{[]string{"send", "user.created", "--count", "0"}, 2, "--count"},
		{[]string{"send", "user.created", "--to", "http://127.0.0.1:1/hook"}, 1, "nothing listens at http://127.0.0.1:1/hook"},
		{[]string{"verify"}, 2, "give --delivery"},
		{[]string{"sned"}, 2, "unknown command"},
		{[]string{"send"}, 2, "accepts 1 arg"},
		{[]string{"secret", "extra"}, 2, "unknown command"},
	} {
		code, out, errOut := mockclerk(ctx, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%v: exit %d, out %q err %q; want %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
	t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", "")
	if code, _, errOut := mockclerk(ctx, "send", "user.created"); code != 1 || !strings.Contains(errOut, "mockclerk secret --write-env") {
		t.Errorf("no secret: exit %d %q", code, errOut)
	}
}

// Retries keep the svix-id, re-sign each attempt and stop at the first 2xx.
func TestRetryAndInterrupt(t *testing.T) {
	setup(t)
	var ids, stamps []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		ids, stamps = append(ids, r.Header.Get("svix-id")), append(stamps, r.Header.Get("svix-signature"))
		if calls < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"outcome":"applied"}`))
	}))
	defer srv.Close()
	code, out, _ := mockclerk(context.Background(), "send", "user.created", "--to", srv.URL, "--retry", "fast")
	if code != 0 || calls != 3 || ids[0] != ids[2] || !strings.Contains(out, "(attempt 3)") || !strings.Contains(out, "1 retried") {
		t.Fatalf("exit %d, %d calls, ids %v\n%s", code, calls, ids, out)
	}

	// Ctrl-C stops the run and still prints the summary.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer slow.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	code, out, _ = mockclerk(ctx, "send", "user.created", "--count", "1000", "--to", slow.URL)
	if code != 130 || !strings.Contains(out, "sent ") {
		t.Fatalf("interrupted: exit %d\n%s", code, out)
	}
}

func TestVerify(t *testing.T) {
	dir := setup(t)
	g := fake.New(3, time.Now())
	s, _ := fake.NewSigner(testSecret)
	d, _ := g.Deliver(s, g.Created(g.NewUser()), time.Now().Add(-time.Hour))
	raw := "POST /api/webhooks/clerk HTTP/1.1\nHost: example.ngrok.app\nContent-Type: application/json\n" +
		"Svix-Id: " + d.ID + "\nSvix-Timestamp: " + d.Header.Get("svix-timestamp") + "\nSvix-Signature: " + d.Header.Get("svix-signature") +
		"\n\n" + string(d.Body) + "\n"
	file := filepath.Join(dir, "req.http")
	os.WriteFile(file, []byte(raw), 0o600)
	code, out, _ := mockclerk(context.Background(), "verify", "--delivery", "@"+file)
	if code != 0 || !strings.Contains(out, "ok: the signature matches") || !strings.Contains(out, "too-old") {
		t.Fatalf("raw request: exit %d\n%s", code, out)
	}
	js := `{"headers": {"svix-id": "` + d.ID + `", "svix-timestamp": "` + d.Header.Get("svix-timestamp") + `", "svix-signature": "` + d.Header.Get("svix-signature") + `"}, "body": ` + jsonString(string(d.Body)) + `}`
	os.WriteFile(file, []byte(js), 0o600)
	if code, out, _ := mockclerk(context.Background(), "verify", "--delivery", "@"+file); code != 0 {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	body := filepath.Join(dir, "body.json")
	os.WriteFile(body, append(d.Body, ' '), 0o600)
	code, out, _ = mockclerk(context.Background(), "verify", "--payload", "@"+body, "--id", d.ID,
		"--timestamp", d.Header.Get("svix-timestamp"), "--signature", d.Header.Get("svix-signature"))
	if code != 1 || !strings.Contains(out, "FAIL bad-signature") || !strings.Contains(out, "re-serialised") {
		t.Fatalf("tampered: exit %d\n%s", code, out)
	}
	code, out, _ = mockclerk(context.Background(), "verify", "--payload", "{}", "--id", d.ID)
	if code != 1 || !strings.Contains(out, "FAIL missing-headers") {
		t.Fatalf("missing headers: exit %d\n%s", code, out)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
