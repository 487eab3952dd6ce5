package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/clerk-sync/clerk-sync/internal/tunnel"
)

func newTestStatus(w int) statusModel {
	k, s := DefaultKeyMap(), DefaultStyles()
	k.setMode(modeList, false, false)
	m := newStatus(testInfo, &k, &s)
	m.tick = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return func() tea.Msg { return nil } }
	m.SetSize(w)
	return m
}

func TestStatusView(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*statusModel)
		height int
		want   []string
	}{
		{"start", func(*statusModel) {}, 4, []string{
			"listen 127.0.0.1:8080 · webhook http://127.0.0.1:8080/webhooks/clerk",
			"db sqlite clerk-sync.db · secret sha256:3f9a0c1d · log /tmp/clerk-sync.log",
			"deliveries none yet", "? help",
		}},
		{"counts in a fixed order", func(m *statusModel) {
			for _, o := range []string{"rejected", "applied", "weird", "applied", "duplicate"} {
				m.Count(o)
			}
		}, 4, []string{"deliveries applied 2 · duplicate 1 · rejected 1 · weird 1"}},
		{"tunnel", func(m *statusModel) {
			m.SetTunnel(tunnel.Status{State: tunnel.Connected, URL: "https://abc.ngrok-free.app", Latency: 42 * time.Millisecond})
		}, 5, []string{"tunnel https://abc.ngrok-free.app/webhooks/clerk · connected · heartbeat 42ms"}},
		{"tunnel failing", func(m *statusModel) {
			m.SetTunnel(tunnel.Status{State: tunnel.Reconnecting, Code: "ERR_NGROK_3200", Err: "tunnel not found"})
		}, 5, []string{"tunnel — · reconnecting · ERR_NGROK_3200 tunnel not found"}},
		{"error", func(m *statusModel) { m.Flash("send user.created: boom", true) }, 4, []string{"✗ send user.created: boom"}},
		{"flash", func(m *statusModel) { m.Flash("copied", false) }, 4, []string{"✓ copied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestStatus(120)
			tt.setup(&m)
			if m.Height() != tt.height || strings.Count(m.View(), "\n")+1 != tt.height {
				t.Errorf("Height() = %d, the view has %d lines, want %d", m.Height(), strings.Count(m.View(), "\n")+1, tt.height)
			}
			checkText(t, stripANSI(m.View()), tt.want, nil)
		})
	}
}

func TestStatusFlashEnds(t *testing.T) {
	m := newTestStatus(100)
	m.Flash("first", false)
	m.Flash("second", true)
	m, _ = m.Update(flashDoneMsg{id: 1})                       // the first one's time: the second stays
	checkText(t, stripANSI(m.View()), []string{"second"}, nil) // an older flash's end leaves a newer one
	m, _ = m.Update(flashDoneMsg{id: 2})
	checkText(t, stripANSI(m.View()), []string{"? help"}, []string{"second"})
}

func TestPublicURL(t *testing.T) {
	tests := []struct{ base, local, want string }{
		{"https://a.ngrok.app", "http://127.0.0.1:8080/webhooks/clerk", "https://a.ngrok.app/webhooks/clerk"},
		{"https://a.ngrok.app/", "http://127.0.0.1:8080/", "https://a.ngrok.app/"},
		{"", "http://127.0.0.1:8080/webhooks/clerk", ""},
		{"https://a.ngrok.app", "%zz", "https://a.ngrok.app"},
	}
	for _, tt := range tests {
		if got := publicURL(tt.base, tt.local); got != tt.want {
			t.Errorf("publicURL(%q, %q) = %q, want %q", tt.base, tt.local, got, tt.want)
		}
	}
}

func TestStatusWarnsOfALocalSecretWithATunnel(t *testing.T) {
	keys, styles := DefaultKeyMap(), DefaultStyles()
	m := newStatus(Info{LocalSecret: true}, &keys, &styles)
	m.SetSize(200)
	if strings.Contains(m.View(), "made here") {
		t.Fatal("warned without a tunnel")
	}
	m.SetTunnel(tunnel.Status{State: tunnel.Connected, URL: "https://x.ngrok-free.app"})
	if !strings.Contains(m.View(), "made here") {
		t.Fatalf("no warning:\n%s", m.View())
	}
}

// Relay mode names the forward target; a log path too long for the bar
// loses its beginning, not its end.
func TestStatusRelayAndLongPath(t *testing.T) {
	m := newTestStatus(80)
	m.info.ForwardTo = "http://localhost:3000/api/webhooks/clerk"
	m.info.LogFile = "/home/someone/with/a/rather/long/home/.cache/clerk-sync/clerk-sync.log"
	got := stripANSI(m.View())
	checkText(t, got, []string{"forward to http://localhost:3000", "log …/clerk-sync.log\n"}, []string{"/home/someone", "listen"})
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		if lipgloss.Width(l) > 80 {
			t.Errorf("a line %d wide: %q", lipgloss.Width(l), l)
		}
	}
}

// A background reconcile's last run shows in the status bar: no drift,
// drift repaired, drift left, or a failure.
func TestStatusShowsTheLastReconcile(t *testing.T) {
	b := &fakeBackend{}
	m := newTestModel(t, b)
	at := t0.Add(90 * time.Second)
	for _, tc := range []struct {
		msg  ReconcileMsg
		want string
	}{
		{ReconcileMsg{At: at}, "reconcile " + clock(at) + " no drift"},
		{ReconcileMsg{At: at, Drift: 3, Repaired: 3}, "3 users drifted, all repaired"},
		{ReconcileMsg{At: at, Drift: 2, Repaired: 1}, "2 users drifted, 1 repaired"},
		{ReconcileMsg{At: at, Drift: 1, Error: "clerk: 401 unauthorized"}, "failed: clerk: 401 unauthorized"},
	} {
		send(m, tc.msg)
		if view := screen(m); !strings.Contains(view, tc.want) {
			t.Errorf("%+v: the status bar has no %q:\n%s", tc.msg, tc.want, view)
		}
	}
}

// A backfill under way shows in the status bar with its count, and one
// whose last page is old says that it stopped.
func TestStatusShowsABackfill(t *testing.T) {
	b := &fakeBackend{filling: &BackfillMsg{Done: 3500, Total: 10000, At: time.Now()}}
	m := newTestModel(t, b)
	send(m, m.readBackfill()())
	if view := screen(m); !strings.Contains(view, "backfill 3500 of 10000 users") || strings.Contains(view, "stopped") {
		t.Errorf("a running backfill:\n%s", view)
	}
	b.filling = &BackfillMsg{Done: 500, Total: 10000, At: t0}
	send(m, m.readBackfill()())
	if view := screen(m); !strings.Contains(view, "backfill 500 of 10000 users, stopped at "+clock(t0)) {
		t.Errorf("a stopped backfill:\n%s", view)
	}
	// A failed reading keeps what was shown, and the next is asked for.
	b.err = errors.New("database is locked")
	asked := 0
	m.status.tick = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { asked++; return nil }
	m.Update(m.readBackfill()())
	if view := screen(m); !strings.Contains(view, "backfill 500 of 10000 users") || asked != 1 {
		t.Errorf("after a failed reading (next readings asked for: %d, want 1):\n%s", asked, view)
	}
	b.err = nil
	b.filling = nil
	send(m, m.readBackfill()())
	if view := screen(m); strings.Contains(view, "backfill") {
		t.Errorf("no backfill, yet:\n%s", view)
	}
}
