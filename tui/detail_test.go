package tui

import (
	"slices"
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

func newTestDetail(w, h int) detailModel {
	k, s := DefaultKeyMap(), DefaultStyles()
	k.setMode(modeDetail, false, false)
	m := newDetail(&k, &s, Info{})
	m.SetSize(w, h)
	return m
}

func TestDetailContent(t *testing.T) {
	before, after := row(ada, "ada@example.com", 0), row(ada, "ada@lovelace.dev", 1)
	ledger := delivery(3, "user.created", grace, "applied")
	ledger.Header, ledger.Response, ledger.Status = nil, nil, 0
	notJSON := forgery(4)
	notJSON.Body = []byte("not json\x1b[31m")
	tests := []struct {
		name    string
		e       *entry
		want    []string
		notWant []string
	}{
		{"update", &entry{d: delivery(1, "user.updated", ada, "applied"), diff: diffDone, before: &before, after: &after},
			[]string{
				"✓ verified  applied  HTTP 200  2.2ms",
				"Row before → after",
				`  - email: "ada@example.com"`, `  + email: "ada@lovelace.dev"`,
				`    firstName: "Ada"`,
				"  - updatedAt: 2026-05-01 12:00:00.000", "  + updatedAt: 2026-05-01 12:00:01.000",
				"Response 200", `"outcome": "applied",`,
				// headers sorted, then the body indented
				"Request headers\n  Content-Type: application/json\n  Svix-Id: msg_2yF0c4Ku9MxRf2Sa6Io8Lq5Nc7E\n  Svix-Signature: v1,",
				"Body (89 bytes)\n  {\n    \"data\": {\n      \"id\": \"user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C\"",
			},
			[]string{`- firstName`}},
		{"create", &entry{d: delivery(0, "user.created", ada, "applied"), diff: diffDone, after: &before},
			[]string{"  - (no row)", `  + email: "ada@example.com"`, "  + deletedAt: —"}, nil},
		{"hard delete", &entry{d: delivery(2, "user.deleted", ada, "applied"), diff: diffDone, before: &after},
			[]string{`  - email: "ada@lovelace.dev"`, "  + (no row)"}, nil},
		{"duplicate", &entry{d: delivery(1, "user.updated", ada, "duplicate")},
			[]string{"no change: the outcome was duplicate"}, nil},
		{"waiting for the rows", &entry{d: delivery(1, "user.updated", ada, "applied"), diff: diffPending},
			[]string{"reading the rows…"}, nil},
		{"from the ledger", &entry{d: ledger, ledger: true},
			[]string{"HTTP —", "Response —\n  not kept: loaded from the ledger", "Request headers\n  not kept", "not known: loaded from the ledger"}, nil},
		{"forgery", &entry{d: forgery(2)},
			[]string{"✗ not verified  rejected  HTTP 400", "bad-signature: no signature matches", `"reason": "bad-signature"`}, nil},
		{"a body that is not JSON", &entry{d: notJSON},
			[]string{"Body (13 bytes)\n  not json·[31m"}, []string{"\x1b[31m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestDetail(100, 200)
			m.Show(tt.e)
			checkText(t, stripANSI(strings.Join(m.content(), "\n")), tt.want, tt.notWant)
		})
	}
}

func TestDetailScroll(t *testing.T) {
	m := newTestDetail(80, 8)
	m.Show(&entry{d: delivery(1, "user.updated", ada, "applied")})
	top := m.View()
	checkText(t, stripANSI(top), []string{"[Delivery] msg_2yF0c4Ku9MxRf2Sa6Io8Lq5Nc7E · 0% · esc back"}, nil)
	for _, k := range keys("down", "j", "pgdown") {
		m, _ = m.Update(k)
	}
	if m.vp.YOffset() == 0 || m.View() == top {
		t.Error("down, j and pgdown did not scroll")
	}
	m, _ = m.Update(keys("G")[0])
	if !m.vp.AtBottom() {
		t.Error("G did not go to the bottom")
	}
	m, _ = m.Update(keys("g")[0])
	if m.vp.YOffset() != 0 {
		t.Error("g did not go to the top")
	}
	if lines := strings.Split(m.View(), "\n"); len(lines) != 8 {
		t.Errorf("the view is %d lines, want 8", len(lines))
	}
	m.Show(&entry{d: forgery(2)})
	if m.vp.YOffset() != 0 {
		t.Error("another delivery does not start at the top")
	}
}

// With a mapping, the row shows under the app's own column names.
func TestDetailUsesTheTablesColumnNames(t *testing.T) {
	before, after := row(ada, "ada@example.com", 0), row(ada, "ada@lovelace.dev", 1)
	after.Other = map[string]string{"public_metadata": `{"plan":"pro"}`}
	m := newTestDetail(100, 200)
	m.columns[store.KindUser] = map[string]string{"id": "id", "key": "clerk_id", "email": "email_address", "first_name": "first_name",
		"public_metadata": "meta", "deleted": "deleted_at"}
	m.Show(&entry{d: delivery(1, "user.updated", ada, "applied"), diff: diffDone, before: &before, after: &after})
	checkText(t, stripANSI(strings.Join(m.content(), "\n")),
		[]string{"    clerk_id: " + ada, `  - email_address: "ada@example.com"`, `    first_name: "Ada"`,
			"  - meta: null", `  + meta: {"plan":"pro"}`, "    deleted_at: —"},
		[]string{"clerkId", "firstName", "lastName", "username", "public_metadata"})
}

// A bad-signature says which secret checked it, whether it was made on
// this machine, and the usual causes; a relayed delivery shows the app's
// response headers.
func TestDetailHints(t *testing.T) {
	k, s := DefaultKeyMap(), DefaultStyles()
	for _, local := range []bool{true, false} {
		m := newDetail(&k, &s, Info{Fingerprint: "whsec_…1a2b3c4d", SecretSource: ".env.local", LocalSecret: local})
		m.SetSize(100, 40)
		m.Show(&entry{d: forgery(1)})
		want := []string{"Why bad-signature?", "Checked with the secret whsec_…1a2b3c4d from .env.local, not generated on this machine.",
			"- the secret is not this endpoint's"}
		if local {
			want[1] = "Checked with the secret whsec_…1a2b3c4d from .env.local, generated on this machine (mockclerk secret)"
		}
		checkText(t, stripANSI(strings.Join(m.content(), "\n")), want, nil)
	}
	m := newTestDetail(100, 40)
	d := delivery(0, "user.created", ada, "forwarded")
	d.AppHeader = map[string][]string{"X-Request-Id": {"req_42"}}
	m.Show(&entry{d: d})
	checkText(t, stripANSI(strings.Join(m.content(), "\n")), []string{"The app's response headers", "X-Request-Id: req_42"}, []string{"Why bad-signature?"})
}

// A row is shown under its own table's column names: the mapping's,
// else the default mapping's for that kind.
func TestDetailColumnsOfTheKind(t *testing.T) {
	k, s := DefaultKeyMap(), DefaultStyles()
	info := Info{KindColumns: map[store.Kind]map[string]string{store.KindOrganization: {"id": "org_pk", "key": "org_key", "name": "org_name"}}}
	m := newDetail(&k, &s, info)
	for _, tc := range []struct {
		typ  string
		row  store.User
		want []field
	}{
		{"user.updated", store.User{ID: "u1", ClerkID: ada}, []field{{"id", "u1"}, {"clerkId", ada}}},
		{"organization.updated", store.User{ID: "o1", ClerkID: "org_1", Other: map[string]string{"name": "Acme"}},
			[]field{{"org_pk", "o1"}, {"org_key", "org_1"}, {"org_name", "Acme"}}},
		{"organizationMembership.created", store.User{ID: "m1", ClerkID: "orgmem_1", Other: map[string]string{"role": "org:admin"}},
			[]field{{"id", "m1"}, {"clerkId", "orgmem_1"}, {"role", "org:admin"}}},
	} {
		m.e = &entry{d: Delivery{EventType: tc.typ}}
		got := m.rowFields(&tc.row)
		for _, f := range tc.want {
			if !slices.Contains(got, f) {
				t.Errorf("%s: no %+v in %+v", tc.typ, f, got)
			}
		}
	}
}
