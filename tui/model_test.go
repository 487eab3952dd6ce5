package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/tunnel"
)

// deliveries is a user's lifecycle and a forgery.
func deliveries(b *fakeBackend) []func() tea.Msg {
	return append(lifecycle(b), func() tea.Msg { return DeliveriesMsg{forgery(3)} })
}

// arrive hands m what each of fs returns, one after the other, as the
// deliveries happen.
func arrive(m *Model, fs []func() tea.Msg) {
	for _, f := range fs {
		send(m, f())
	}
}

func TestKeysAct(t *testing.T) {
	tests := []struct {
		name   string
		before func(*fakeBackend) []func() tea.Msg // what arrives before the keys
		keys   []string
		want   []string // the backend's calls
	}{
		{"c with nothing selected", nil, []string{"c"}, []string{"send user.created "}},
		{"u and d for the last user", nil, []string{"u", "d"}, []string{"send user.updated ", "send user.deleted "}},
		{"u for the selected event's user", lifecycle, []string{"u"}, []string{"send user.updated " + ada}},
		{"c ignores the selection", lifecycle, []string{"c"}, []string{"send user.created "}},
		{"d for the selected row", rowsOfTwo, []string{"tab", "j", "d"}, []string{"send user.deleted " + grace}},
		{"s runs the out-of-order scenario", nil, []string{"s"}, []string{"scenario out-of-order"}},
		{"r replays the selected delivery", deliveries, []string{"j", "r"}, []string{"replay " + svixIDs[2]}},
		{"R re-sends it", deliveries, []string{"R"}, []string{"resend " + svixIDs[3]}},
		{"r in the detail view", deliveries, []string{"j", "j", "enter", "r"}, []string{"replay " + svixIDs[1]}},
		{"r with nothing selected", nil, []string{"r", "R", "y"}, nil},
		{"y copies the curl command", deliveries, []string{"y"}, []string{"curl " + svixIDs[3]}},
		{"o loads older deliveries", deliveries, []string{"o"}, []string{"history 12:00:00  200"}}, // a live delivery: its time only
		{"keys go to the filter while it is typed", deliveries, []string{"/", "cudsrRyoq", "esc"}, nil},
		{"the help screen swallows keys", nil, []string{"?", "c", "esc", "c"}, []string{"send user.created "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{}
			m := newTestModel(t, b)
			if tt.before != nil {
				arrive(m, tt.before(b))
			}
			send(m, keys(tt.keys...)...)
			if got := b.Calls(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("calls %q, want %q", got, tt.want)
			}
		})
	}
}

func rowsOfTwo(b *fakeBackend) []func() tea.Msg {
	return []func() tea.Msg{func() tea.Msg {
		b.set([]store.User{row(ada, "ada@example.com", 0), row(grace, "grace@example.com", 1)}, nil)
		return DeliveriesMsg{delivery(0, "user.created", grace, "applied")}
	}}
}

func TestCopyPutsCurlOnTheClipboard(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	arrive(m, deliveries(b))
	msgs := send(m, keys("y")...)
	want := tea.SetClipboard("curl http://127.0.0.1:8080/webhooks/clerk --data-binary @- # " + svixIDs[3])()
	if !slices.Contains(msgs, want) {
		t.Errorf("y put no curl of %s on the clipboard: %#v", svixIDs[3], msgs)
	}
	checkText(t, screen(m), []string{"✓ copied: curl for " + svixIDs[3] + " (signed now: good for 5 min)"}, nil)
}

func TestErrorsFlash(t *testing.T) {
	tests := []struct {
		keys []string
		want string
	}{
		{[]string{"c"}, "✗ send user.created: boom"},
		{[]string{"s"}, "✗ scenario out-of-order: boom"},
		{[]string{"r"}, "✗ replay " + svixIDs[3] + ": boom"},
		{[]string{"R"}, "✗ re-send " + svixIDs[3] + ": boom"},
		{[]string{"o"}, "✗ loading older deliveries: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			b := &fakeBackend{}
			m := newTestModel(t, b)
			arrive(m, deliveries(b))
			b.err = errors.New("boom")
			send(m, keys(tt.keys...)...)
			checkText(t, screen(m), []string{tt.want}, nil)
		})
	}
}

func TestNothingSelectedFlash(t *testing.T) {
	m := newTestModel(t, &fakeBackend{})
	send(m, keys("r")...)
	checkText(t, screen(m), []string{"✗ replay: no delivery selected"}, nil)
}

func TestRowsReadError(t *testing.T) {
	m := newTestModel(t, &fakeBackend{})
	m.backend = &fakeBackend{err: errors.New("database is locked")}
	send(m, DeliveriesMsg{delivery(0, "user.created", ada, "applied")})
	checkText(t, screen(m), []string{"✗ reading the rows: database is locked"}, nil)
}

// At start the events pane shows the ledger's recent history, marked h
// and counted apart in the title; deliveries that arrive later go above it.
func TestHistoryOnStart(t *testing.T) {
	b := &fakeBackend{history: []store.Record{
		{Delivery: store.Delivery{SvixID: "msg_2new", Type: "user.updated", UserID: ada, ReceivedAt: t0.Add(-time.Minute)}, Outcome: store.Applied},
		{Delivery: store.Delivery{SvixID: "msg_1old", Type: "user.created", UserID: ada, ReceivedAt: t0.Add(-2 * time.Minute)}, Outcome: store.Applied},
	}}
	m := newTestModel(t, b)
	send(m, DeliveriesMsg{delivery(0, "user.deleted", ada, "applied")})
	got := screen(m)
	checkText(t, got, []string{"3 deliveries (2 history)", "\nh 11:59:00 user.updated", "\nh 11:58:00 user.created"}, []string{"No deliveries yet", "no older deliveries"})
	if strings.Index(got, "user.deleted") > strings.Index(got, "msg_2new") {
		t.Errorf("the live delivery is not above the history:\n%s", got)
	}
}

func TestRowDiff(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	arrive(m, deliveries(b))
	es := m.events.Entries()
	created, updated, deleted, forged := es[0], es[1], es[2], es[3]
	if created.diff != diffDone || created.before != nil || created.after == nil || *created.after.Email != "ada@example.com" {
		t.Errorf("created: %+v", created)
	}
	if updated.diff != diffDone || *updated.before.Email != "ada@example.com" || *updated.after.Email != "ada@lovelace.dev" {
		t.Errorf("updated: %+v", updated)
	}
	if deleted.diff != diffDone || deleted.before == nil || deleted.after != nil {
		t.Errorf("deleted: %+v", deleted)
	}
	if forged.diff != diffNone {
		t.Errorf("forged: %+v", forged)
	}
}

// A reading of the rows that was asked for earlier but arrives later than
// a newer one must not replace it.
func TestLateRowsIgnored(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	fresh := []store.User{row(ada, "ada@example.com", 0)}
	send(m, rowsMsg{seq: 5, kind: store.KindUser, users: fresh})
	send(m, rowsMsg{seq: 4, kind: store.KindUser, users: nil})
	if m.rows.Row(ada) == nil {
		t.Error("the late, older reading replaced the newer one")
	}
}

func TestDeliveryBeforeTheFirstRows(t *testing.T) {
	m := New(&fakeBackend{}, testInfo)
	m.Update(DeliveriesMsg{delivery(0, "user.created", ada, "applied")})
	if e := m.events.Entries()[0]; e.diff != diffNoRowsYet {
		t.Errorf("diff state %v, want diffNoRowsYet", e.diff)
	}
}

func TestTouchedRowFollowsSelection(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	arrive(m, rowsOfTwo(b))
	send(m, DeliveriesMsg{delivery(1, "user.updated", ada, "duplicate")})
	if m.rows.touched != ada {
		t.Errorf("touched %q, want ada", m.rows.touched)
	}
	send(m, keys("j")...)
	if m.rows.touched != grace {
		t.Errorf("touched %q, want grace", m.rows.touched)
	}
}

func TestQuit(t *testing.T) {
	for _, k := range [][]string{{"q"}, {"ctrl+c"}, {"/", "ctrl+c"}, {"enter", "q"}, {"?", "q"}} {
		m := newTestModel(t, &fakeBackend{})
		send(m, DeliveriesMsg{delivery(0, "user.created", ada, "ignored")})
		var cmd tea.Cmd
		for _, msg := range keys(k...) {
			_, cmd = m.Update(msg)
		}
		if cmd == nil || cmd() != tea.Quit() {
			t.Errorf("%q does not quit", k)
		}
	}
	m := newTestModel(t, &fakeBackend{})
	send(m, keys("/", "q")...)
	if m.events.input.Value() != "q" {
		t.Errorf("q while typing a filter: filter %q", m.events.input.Value())
	}
}

func TestViews(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"list", nil, []string{"[Events] 4 deliveries · following", " Users  0 users · 1 tombstone hidden (t shows)"}},
		{"tab", []string{"tab"}, []string{" Events  4 deliveries", "[Users] 0 users"}},
		{"tombstones", []string{"t"}, []string{"1 tombstone shown (t hides)", "† tombstone"}},
		{"detail", []string{"j", "enter"}, []string{"[Delivery] " + svixIDs[2], `+ (no row)`}},
		{"detail and back", []string{"j", "enter", "esc"}, []string{"[Events] 4 deliveries · paused"}},
		{"help", []string{"?"}, []string{"[Help]", "older", "tombstones", "Markers", "? help  esc back  q quit"}},
		{"filter", []string{"/", "upd", "enter"}, []string{`[Events] 1 of 4 deliveries · following · filter "upd" (esc clears)`, "user.updated"}},
		{"filter cleared", []string{"/", "upd", "enter", "esc"}, []string{"[Events] 4 deliveries · following"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{}
			m := newTestModel(t, b)
			arrive(m, deliveries(b))
			send(m, keys(tt.keys...)...)
			checkText(t, screen(m), tt.want, nil)
		})
	}
}

// Every size, from the smallest supported up, fills the terminal exactly,
// with the rows beside the events on a wide one.
func TestLayout(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {140, 40}, {200, 60}, {40, 10}, {10, 3}} {
		for _, view := range [][]string{nil, {"j", "enter"}, {"?"}, {"/"}} {
			b := &fakeBackend{}
			m := newTestModel(t, b)
			arrive(m, deliveries(b))
			send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			send(m, keys(view...)...)
			lines := strings.Split(m.View().Content, "\n")
			if len(lines) != size[1] {
				t.Errorf("%v %q: %d lines", size, view, len(lines))
			}
			for i, l := range lines {
				if w := lipgloss.Width(l); w != size[0] {
					t.Errorf("%v %q: line %d is %d wide: %q", size, view, i, w, l)
				}
			}
			side := strings.Contains(lines[0], "│")
			if view == nil && size[1] > 5 && side != (size[0] >= sideBySide) {
				t.Errorf("%v: side by side %v", size, side)
			}
		}
	}
}

func TestLoadOlder(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	arrive(m, deliveries(b))
	b.history = []store.Record{
		{Delivery: store.Delivery{SvixID: svixIDs[0], Type: "user.created", UserID: ada, ReceivedAt: t0}, Outcome: store.Applied},
		{Delivery: store.Delivery{SvixID: "msg_2old", Type: "user.created", UserID: grace, ReceivedAt: t0.Add(-time.Minute),
			Payload: []byte(`{"type":"user.created"}`)}, Outcome: store.Applied},
	}
	send(m, keys("o")...)
	checkText(t, screen(m), []string{
		"✓ loaded 1 older delivery from the ledger",
		"11:59:00 user.created user_…4Xb0Cg6D msg_2old      ✓ applied   —   —",
	}, nil)
	b.history = nil
	send(m, keys("o")...)
	checkText(t, screen(m), []string{"✓ no older deliveries in the ledger"}, nil)
}

func TestTunnel(t *testing.T) {
	m := newTestModel(t, &fakeBackend{})
	send(m, TunnelMsg{tunnel.Status{State: tunnel.Connected, URL: "https://abc.ngrok-free.app", Latency: 42 * time.Millisecond}})
	checkText(t, screen(m), []string{"tunnel https://abc.ngrok-free.app/webhooks/clerk · connected · heartbeat 42ms"}, nil)
	if n := strings.Count(m.View().Content, "\n") + 1; n != 30 {
		t.Errorf("%d lines with the tunnel's line, want 30", n)
	}
}

// Deliveries applied while the rows are being read share one more read
// when it ends, instead of a read each running side by side.
func TestRowReadsDoNotPileUp(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	var cmds []tea.Cmd
	for i, u := range []string{ada, ada, grace} {
		_, cmd := m.Update(DeliveriesMsg{delivery(i, "user.updated", u, "applied")})
		cmds = append(cmds, cmd)
	}
	if cmds[0] == nil || cmds[1] != nil || cmds[2] != nil {
		t.Fatalf("reads started by three deliveries: %v, want only the first", []bool{cmds[0] != nil, cmds[1] != nil, cmds[2] != nil})
	}
	b.set([]store.User{row(ada, "ada@example.com", 1), row(grace, "grace@example.com", 1)}, nil)
	if reads := readsDone(t, m, run(m, cmds[0])); reads != 2 {
		t.Errorf("%d reads, want 2: the first, and one for the deliveries that came during it", reads)
	}
}

// readsDone counts the readings of the rows among msgs, and checks that
// every delivery now knows its row after.
func readsDone(t *testing.T, m *Model, msgs []tea.Msg) int {
	t.Helper()
	reads := 0
	for _, msg := range msgs {
		if _, ok := msg.(rowsMsg); ok {
			reads++
		}
	}
	for _, e := range m.events.Entries() {
		if e.diff != diffDone || e.after == nil {
			t.Errorf("%s: diff %v, after %v; want done with the row", e.d.SvixID, e.diff, e.after)
		}
	}
	return reads
}

// Under a stream of deliveries the rows are read at most once every
// rowsEvery: a delivery soon after a read waits for its turn, and the read
// it waits for serves every delivery that came meanwhile.
func TestRowReadsWaitTheirTurn(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	m.rowsEvery = time.Hour
	m.lastRead = time.Now()
	_, cmd := m.Update(DeliveriesMsg{delivery(0, "user.updated", ada, "applied")})
	if cmd == nil {
		t.Fatal("no read asked for")
	}
	got := make(chan tea.Msg, 1)
	go func() { got <- cmd() }()
	select {
	case msg := <-got:
		t.Fatalf("the rows were read at once (%T), want a wait of rowsEvery", msg)
	case <-time.After(100 * time.Millisecond):
	}
	if _, cmd := m.Update(DeliveriesMsg{delivery(1, "user.updated", grace, "applied")}); cmd != nil {
		t.Fatal("a second read was asked for while one waits")
	}
	b.set([]store.User{row(ada, "ada@example.com", 1), row(grace, "grace@example.com", 1)}, nil)
	if reads := readsDone(t, m, send(m, readRowsMsg{})); reads != 1 {
		t.Errorf("%d reads when the turn came, want 1 for both deliveries", reads)
	}
}

// A read of the rows that takes long (a large table) spaces the next
// ones: from the start of one read to the next is at least readShare times
// its length, however many deliveries ask for them.
func TestSlowRowReadsKeepTheirShare(t *testing.T) {
	const slow = 40 * time.Millisecond
	b := &fakeBackend{slow: slow}
	m := newTestModel(t, b)
	m.rowsEvery, m.readShare = time.Millisecond, readShare
	m.lastRead = time.Time{}
	_, cmd := m.Update(DeliveriesMsg{delivery(0, "user.updated", ada, "applied")})
	if cmd == nil {
		t.Fatal("no read asked for")
	}
	send(m, cmd()) // the read, 40 ms long
	if m.readTook < slow {
		t.Fatalf("the read took %s by the model's count, want at least %s", m.readTook, slow)
	}
	began := m.lastRead
	_, cmd = m.Update(DeliveriesMsg{delivery(1, "user.updated", grace, "applied")})
	if cmd == nil {
		t.Fatal("no read asked for after the second delivery")
	}
	msg := cmd()
	if _, ok := msg.(readRowsMsg); !ok {
		t.Fatalf("the next read began at once (%T), want a wait", msg)
	}
	if waited, want := time.Since(began), readShare*slow; waited < want {
		t.Errorf("the next read began %s after the last began, want at least %s (readShare × %s)", waited, want, slow)
	}
}

// At any width from 40 columns, in every view, the help row shows ? (the
// key that lists the others), and the detail view never breaks a word
// that fits on a line.
func TestLayoutKeepsHelpAndWords(t *testing.T) {
	for _, w := range []int{40, 60, 80, 100, 140, 200} {
		b := &fakeBackend{}
		m := newTestModel(t, b)
		send(m, tea.WindowSizeMsg{Width: w, Height: 24})
		arrive(m, lifecycle(b))
		for _, press := range [][]string{nil, {"tab"}, {"tab", "enter"}, {"esc", "tab", "enter"}, {"esc", "?"}} {
			send(m, keys(press...)...)
			lines := strings.Split(strings.TrimRight(screen(m), "\n"), "\n")
			if help := lines[len(lines)-1]; !strings.HasPrefix(help, "? help") && !strings.HasPrefix(help, "? close") {
				t.Errorf("%d columns, after %q: the help row is %q", w, press, help)
			}
			if m.showHelp && w >= 80 && (strings.Contains(strings.Join(lines[:len(lines)-4], "\n"), "…") || !strings.Contains(screen(m), "q quit")) {
				t.Errorf("%d columns: the help screen cuts keys off:\n%s", w, screen(m))
			}
		}
		b = &fakeBackend{}
		m = newTestModel(t, b)
		send(m, tea.WindowSizeMsg{Width: w, Height: 24})
		arrive(m, lifecycle(b))
		send(m, keys("j", "enter")...)
		content := strings.Join(m.detail.content(), "\n")
		shown := stripANSI(m.detail.vp.GetContent())
		for _, l := range strings.Split(shown, "\n") {
			if lipgloss.Width(l) > w {
				t.Errorf("%d columns: a detail line is %d wide, to be cut or broken anywhere: %q", w, lipgloss.Width(l), l)
			}
		}
		for _, word := range strings.Fields(stripANSI(content)) {
			if len([]rune(word)) <= w && !strings.Contains(shown, word) {
				t.Errorf("%d columns: the word %q is broken across lines", w, word)
			}
		}
	}
}

// enter on a user row shows that user's deliveries (the filter holds its
// id) and esc goes back to the row; / searches the rows and the bodies.
func TestJumpAndSearch(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	arrive(m, rowsOfTwo(b))
	d := delivery(1, "user.updated", ada, "duplicate")
	d.Body = []byte(`{"data":{"id":"` + ada + `","last_name":"Lovelace"},"type":"user.updated"}`)
	send(m, DeliveriesMsg{d})
	send(m, keys("tab", "enter")...) // tab: the row of the selected delivery's user
	checkText(t, screen(m), []string{`filter "` + ada + `"`, "[Events]"}, []string{"[Users]"})
	if vis := m.events.visible(); len(vis) != 1 || vis[0].d.UserID != ada {
		t.Errorf("jumped to %s's deliveries, shown %d", ada, len(vis))
	}
	send(m, keys("esc")...)
	if !m.rowsFocused || m.rows.Current() != ada || m.events.Filtered() {
		t.Errorf("esc: rows focused %v on %q, filtered %v; want back on %s's row", m.rowsFocused, m.rows.Current(), m.events.Filtered(), ada)
	}
	send(m, keys("/", "LOVELACE", "enter")...) // in a body only
	checkText(t, screen(m), []string{"1 of 2 deliveries", "msg_…8Lq5Nc7E"}, nil)
	send(m, keys("esc", "/", "grace@", "enter")...) // in a row only
	checkText(t, screen(m), []string{"1 of 2 users match the filter", "grace@example.com"}, []string{"ada@example.com"})
}

// An organization's delivery, opened, puts the organizations table in
// the rows pane with its row marked and its change in the detail; v
// cycles the pane through users, organizations and memberships.
func TestRowsPaneFollowsTheKind(t *testing.T) {
	const org = "org_2pQmE5n2Rb8Wc1Yt4Kd7Hs0Lx3V"
	b := &fakeBackend{}
	m := newTestModel(t, b)
	orgRow := store.User{ID: org, ClerkID: org, UpdatedAt: t0,
		Other: map[string]string{"name": "Analytical Engines", "slug": "analytical-engines", "created_by": ada}}
	b.setKind(store.KindOrganization, []store.User{orgRow})
	d := delivery(0, "organization.created", "", "applied")
	d.ID = org
	send(m, DeliveriesMsg{d})
	if m.rows.kind != store.KindUser {
		t.Fatalf("the pane left the users before a delivery was opened: %s", m.rows.kind)
	}
	send(m, keys("enter")...)
	if m.rows.kind != store.KindOrganization || m.rows.Row(org) == nil || m.rows.touched != org {
		t.Fatalf("after opening the delivery: kind %s, row %v, touched %q", m.rows.kind, m.rows.Row(org), m.rows.touched)
	}
	if view := m.View().Content; !strings.Contains(view, "organization "+org) || !strings.Contains(view, "another table") {
		t.Errorf("the detail names no organization, or claims a change it did not see:\n%s", view)
	}
	send(m, keys("esc")...)
	view := m.View().Content
	for _, want := range []string{"Organizations", "analytical-engines", "slug"} {
		if !strings.Contains(view, want) {
			t.Errorf("the screen has no %q:\n%s", want, view)
		}
	}
	// With the organizations shown, the next change of one is seen.
	renamed := orgRow
	renamed.Other = map[string]string{"name": "Difference Engines", "slug": "analytical-engines", "created_by": ada}
	b.setKind(store.KindOrganization, []store.User{renamed})
	d2 := delivery(1, "organization.updated", "", "applied")
	d2.ID = org
	send(m, DeliveriesMsg{d2})
	if e := m.events.Entries()[1]; e.diff != diffDone || e.before == nil || e.after == nil || e.after.Other["name"] != "Difference Engines" {
		t.Fatalf("the rename's change: %+v", e)
	}
	send(m, keys("v")...)
	if m.rows.kind != store.KindMembership || !strings.Contains(m.View().Content, "No memberships yet") {
		t.Fatalf("v after organizations: %s\n%s", m.rows.kind, m.View().Content)
	}
	send(m, keys("v")...)
	if m.rows.kind != store.KindUser {
		t.Fatalf("v after memberships: %s", m.rows.kind)
	}
}
