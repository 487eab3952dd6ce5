package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

func newTestEvents(w, h int) eventsModel {
	k, s := DefaultKeyMap(), DefaultStyles()
	k.setMode(modeList, false, false)
	m := newEvents(&k, &s)
	m.SetSize(w, h)
	return m
}

// ids is the svix ids of the visible entries, newest first, the selected
// one in brackets.
func ids(m eventsModel) string {
	var out []string
	sel := m.Selected()
	for _, e := range m.visible() {
		id := e.d.SvixID
		if e == sel {
			id = "[" + id + "]"
		}
		out = append(out, id)
	}
	return strings.Join(out, " ")
}

func numbered(n int) Delivery {
	d := delivery(n, "user.created", ada, "applied")
	d.SvixID = fmt.Sprintf("m%d", n)
	return d
}

func TestEventsCursor(t *testing.T) {
	add := func(n int) func(*eventsModel) { return func(m *eventsModel) { m.Add(&entry{d: numbered(n)}) } }
	key := func(name string) func(*eventsModel) {
		return func(m *eventsModel) { *m, _ = m.Update(keys(name)[0]) }
	}
	tests := []struct {
		name   string
		steps  []func(*eventsModel)
		want   string
		follow bool
	}{
		{"empty", nil, "", true},
		{"follows the newest", []func(*eventsModel){add(1), add(2), add(3)}, "[m3] m2 m1", true},
		{"moving stops following", []func(*eventsModel){add(1), add(2), key("j")}, "m2 [m1]", false},
		{"a new event keeps the moved cursor", []func(*eventsModel){add(1), add(2), key("j"), add(3)}, "m3 m2 [m1]", false},
		{"back at the top it follows again", []func(*eventsModel){add(1), add(2), key("j"), key("k"), add(3)}, "[m3] m2 m1", true},
		{"the cursor stops at the ends", []func(*eventsModel){add(1), add(2), key("down"), key("down"), key("down")}, "m2 [m1]", false},
		{"page down", []func(*eventsModel){add(1), add(2), add(3), add(4), key("pgdown")}, "m4 m3 [m2] m1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestEvents(100, 5)
			for _, step := range tt.steps {
				step(&m)
			}
			if got := ids(m); got != tt.want || m.follow != tt.follow {
				t.Errorf("got %q (following %v), want %q (following %v)", got, m.follow, tt.want, tt.follow)
			}
		})
	}
}

func TestEventsRing(t *testing.T) {
	m := newTestEvents(100, 10)
	for n := range ringSize + 5 {
		m.Add(&entry{d: numbered(n)})
	}
	if got := len(m.Entries()); got != ringSize {
		t.Fatalf("%d entries kept, want %d", got, ringSize)
	}
	if d := m.Entries()[0].d; d.SvixID != "m5" {
		t.Errorf("oldest is %s, want m5", d.SvixID)
	}

	// Loaded on purpose, older deliveries stay beyond the ring's size.
	older := []Delivery{numbered(4), numbered(3), numbered(2)}
	if n := m.AddOlder(older); n != 3 {
		t.Errorf("AddOlder added %d, want 3", n)
	}
	m.Add(&entry{d: numbered(2000)})
	if got := len(m.Entries()); got != ringSize+3 {
		t.Errorf("%d entries kept after loading older ones, want %d", got, ringSize+3)
	}
}

func TestEventsAddOlder(t *testing.T) {
	m := newTestEvents(100, 10)
	m.Add(&entry{d: numbered(5)})
	m.Add(&entry{d: numbered(6)})
	// The ledger has m5 too (it was received while the inspector ran).
	n := m.AddOlder([]Delivery{numbered(5), numbered(4), numbered(3)})
	if want := "[m6] m5 m4 m3"; n != 2 || ids(m) != want {
		t.Errorf("added %d: %q, want 2: %q", n, ids(m), want)
	}
	if !m.Entries()[0].ledger || m.Entries()[3].ledger {
		t.Error("only entries from the ledger are marked so")
	}
}

func TestEventsFilter(t *testing.T) {
	ds := []Delivery{
		delivery(0, "user.created", ada, "applied"),
		delivery(1, "user.updated", grace, "stale"),
		forgery(2),
		delivery(3, "session.created", "", "ignored"),
	}
	tests := []struct {
		query string
		want  []string // event types shown
	}{
		{"", []string{"session.created", "", "user.updated", "user.created"}},
		{"created", []string{"session.created", "user.created"}},
		{"CREATED", []string{"session.created", "user.created"}},
		{"2qrn", []string{"user.updated"}},
		{"rejected", []string{""}},
		{"stale", []string{"user.updated"}},
		{"no-such-thing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			m := newTestEvents(100, 10)
			for _, d := range ds {
				m.Add(&entry{d: d})
			}
			m.StartFilter()
			m.keys.setMode(modeFilter, false, false) // as the root model does
			for _, k := range keys(tt.query) {
				m, _ = m.Update(k)
			}
			var got []string
			for _, e := range m.visible() {
				got = append(got, e.d.EventType)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("shown %q, want %q", got, tt.want)
			}
			if tt.want == nil {
				checkText(t, stripANSI(m.View()), []string{"No delivery matches"}, nil)
			}

			m, _ = m.Update(keys("enter")[0])
			if m.Typing() || m.Filtered() != (tt.query != "") {
				t.Errorf("after enter: typing %v, filtered %v", m.Typing(), m.Filtered())
			}
			m.ClearFilter()
			if len(m.visible()) != len(ds) {
				t.Errorf("after clearing, %d shown, want %d", len(m.visible()), len(ds))
			}
		})
	}
}

func TestEventsFilterEsc(t *testing.T) {
	m := newTestEvents(100, 10)
	m.Add(&entry{d: delivery(0, "user.created", ada, "applied")})
	m.StartFilter()
	m.keys.setMode(modeFilter, false, false)
	for _, k := range keys("nothing", "esc") {
		m, _ = m.Update(k)
	}
	if m.Typing() || m.Filtered() || len(m.visible()) != 1 {
		t.Errorf("esc while typing: typing %v, filtered %v, %d shown", m.Typing(), m.Filtered(), len(m.visible()))
	}
}

func TestEventsView(t *testing.T) {
	ledger := delivery(4, "user.created", grace, "applied")
	ledger.Status, ledger.Latency, ledger.Header, ledger.Response = 0, 0, nil, nil
	tests := []struct {
		name string
		e    *entry
		want []string
	}{
		{"applied", &entry{d: delivery(0, "user.created", ada, "applied")},
			[]string{"12:00:00 user.created user_…Bf5C msg_…Mb6D ✓ applied   200 1.1ms"}},
		{"forgery", &entry{d: forgery(1)},
			[]string{"12:00:01 —            —          msg_…Nc7E ✗ rejected  400 2.2ms bad-signature"}},
		{"from the ledger", &entry{d: ledger, ledger: true},
			[]string{"> 12:00:04 user.created user_…Cg6D msg_…Qf0H ✓ applied   —   —", "1 delivery (1 history)"}},
		{"slow", &entry{d: func() Delivery {
			d := delivery(2, "user.updated", ada, "duplicate")
			d.Latency = 1500 * time.Millisecond
			return d
		}()},
			[]string{"✓ duplicate 200 1.5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestEvents(80, 5)
			m.Add(tt.e)
			checkText(t, stripANSI(m.View()), append(tt.want, "\n> "), nil)
		})
	}
}

func TestEventsViewSize(t *testing.T) {
	for _, size := range [][2]int{{80, 10}, {100, 3}, {200, 40}, {30, 2}} {
		m := newTestEvents(size[0], size[1])
		for n := range 50 {
			m.Add(&entry{d: numbered(n)})
		}
		lines := strings.Split(m.View(), "\n")
		if len(lines) != size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if w := lipgloss.Width(l); w != size[0] {
				t.Errorf("%v: a line is %d wide: %q", size, w, l)
			}
		}
	}
}

// "paused" shows only when the cursor is below the top: g goes back to the
// top and follows again, and so does a filter that hides the selection.
func TestPausedOnlyBelowTheTop(t *testing.T) {
	m := newTestEvents(100, 10)
	for n := range 3 {
		m.Add(&entry{d: numbered(n)})
	}
	move := func(k string) {
		m, _ = m.Update(keys(k)[0])
	}
	move("j")
	checkText(t, stripANSI(m.View()), []string{"paused: g to the top follows"}, nil)
	move("g")
	checkText(t, stripANSI(m.View()), []string{"following"}, []string{"paused"})
	move("G")
	m.SetFilter(m.all[2].d.SvixID) // the newest only: the selection is hidden
	checkText(t, stripANSI(m.View()), []string{"following"}, []string{"paused"})
}

// TestLedgerEntity: a delivery read from the ledger is about the entity
// its body names, even when the body is too large for the pane to keep.
func TestLedgerEntity(t *testing.T) {
	for _, tc := range []struct {
		name, typ, user, want string
		pad                   int
	}{
		{"user", "user.updated", "user_1", "user_1", 0},
		{"organization", "organization.updated", "", "org_1", 0},
		{"organization, body dropped", "organization.updated", "", "org_1", keepBytes},
		{"membership, body dropped", "organizationMembership.created", "user_2", "orgmem_1", keepBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.want
			body := fmt.Sprintf(`{"type":%q,"data":{"id":%q,"pad":%q}}`, tc.typ, id, strings.Repeat("x", tc.pad))
			r := store.Record{Delivery: store.Delivery{SvixID: "msg_1", Type: tc.typ, UserID: tc.user, Payload: []byte(body)}}
			e := newEntry(fromRecord(r), true)
			if tc.pad > 0 && !e.bodyDropped() {
				t.Fatalf("a body of %d bytes was kept", len(body))
			}
			if got := entityOf(e.d); got != tc.want {
				t.Errorf("entityOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// ledgerHistory reads the ledger as a store does, with times to the
// precision given: SQLite's millisecond, PostgreSQL's microsecond.
type ledgerHistory struct {
	*fakeBackend
	precision time.Duration
}

func (b ledgerHistory) History(_ context.Context, p store.Position, n int) ([]store.Record, error) {
	at, id := p.Keyset(b.precision)
	var page []store.Record
	for _, r := range b.history {
		kept := r.ReceivedAt.Truncate(b.precision)
		if (kept.Before(at) || kept.Equal(at) && r.SvixID < id) && len(page) < n {
			page = append(page, r)
		}
	}
	return page, nil
}

// TestOlderThanALiveDelivery: the ledger stamps a delivery after its
// handler began, so one received while the oldest shown (live) delivery
// was being handled is older in the ledger: o loads it. Paging from the
// live delivery's own start skipped it.
func TestOlderThanALiveDelivery(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	m.backend = ledgerHistory{b, time.Microsecond}
	live := delivery(0, "user.updated", ada, "applied")
	live.Received, live.Latency = t0, 2*time.Millisecond
	for i, at := range []time.Time{t0.Add(400 * time.Microsecond), t0.Add(300 * time.Microsecond), t0.Add(-time.Second)} {
		d := delivery(i, "user.updated", ada, "applied") // the first is the live one's row
		b.history = append(b.history, store.Record{Delivery: store.Delivery{SvixID: d.SvixID, Type: d.EventType, UserID: ada,
			ReceivedAt: at, Payload: d.Body}, Outcome: store.Applied})
	}
	send(m, DeliveriesMsg{live})
	send(m, keys("o")...)
	if n := len(m.events.Entries()); n != 3 {
		t.Errorf("%d deliveries shown after o, want 3: the live one and the two older in the ledger", n)
	}
}

// TestOlderWithinAMillisecond: o loads the deliveries that share the
// oldest shown one's millisecond, and shows none twice.
func TestOlderWithinAMillisecond(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	m.backend = ledgerHistory{b, time.Millisecond}
	at := t0.Add(500 * time.Microsecond)
	shown := delivery(0, "user.updated", ada, "applied")
	shown.Received = at
	for i := range 3 { // newest first, the first one shown
		d := delivery(i, "user.updated", ada, "applied")
		b.history = append(b.history, store.Record{Delivery: store.Delivery{SvixID: d.SvixID, Type: d.EventType, UserID: ada,
			ReceivedAt: at.Add(-time.Duration(i) * 100 * time.Microsecond), Payload: d.Body}, Outcome: store.Applied})
	}
	send(m, DeliveriesMsg{shown})
	send(m, keys("o")...)
	if n := len(m.events.Entries()); n != 3 {
		t.Errorf("%d deliveries shown after o, want 3", n)
	}
}
