package tui

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/tunnel"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// flashFor is how long a flash stays in the status bar.
const flashFor = 5 * time.Second

// outcomes is the order in which the status bar counts outcomes.
var outcomes = []string{
	string(store.Applied), string(store.Duplicate), string(store.Stale), string(store.Ignored),
	string(store.Rejected), string(store.Failed), webhook.OutcomeForwarded,
}

// statusModel is the status bar: where the receiver listens, the tunnel,
// the database, the secret's fingerprint, the log file, counts per
// outcome, and a line that shows the key help or a passing message.
type statusModel struct {
	keys   *KeyMap
	styles *Styles
	help   help.Model

	info      Info
	tunnel    *tunnel.Status
	reconcile *ReconcileMsg // the last background reconcile, if any ran
	backfill  *BackfillMsg  // a backfill under way or stopped midway
	counts    map[string]int
	flash     string
	isError   bool
	flashID   int
	// tick is tea.Tick; tests stop time with a tick that never fires.
	tick func(time.Duration, func(time.Time) tea.Msg) tea.Cmd

	width int
}

// flashDoneMsg ends the flash that it names.
type flashDoneMsg struct{ id int }

func newStatus(info Info, keys *KeyMap, styles *Styles) statusModel {
	h := help.New()
	h.Styles = styles.Help
	h.ShortSeparator = "  "
	return statusModel{keys: keys, styles: styles, help: h, info: info, counts: map[string]int{}, tick: tea.Tick}
}

// SetSize sets the width of the bar.
func (m *statusModel) SetSize(w int) {
	m.width = w
	m.help.SetWidth(w)
}

// Height is how many lines View takes.
func (m statusModel) Height() int {
	if m.tunnel != nil {
		return 5
	}
	return 4
}

// Count counts one more delivery with outcome o.
func (m *statusModel) Count(o string) { m.counts[o]++ }

// SetBackfill shows where a backfill stands (nil: none is).
func (m *statusModel) SetBackfill(b *BackfillMsg) { m.backfill = b }

// stalled is how long after its last page a backfill counts as stopped.
const stalled = 30 * time.Second

// backfillView is where a backfill stands, for the counts line.
func (m statusModel) backfillView() string {
	b := m.backfill
	what := plural(int(b.Done), "user")
	if b.Total > 0 {
		what = fmt.Sprintf("%d of %s", b.Done, plural(int(b.Total), "user"))
	}
	if time.Since(b.At) > stalled {
		what += ", stopped at " + clock(b.At) + " (the next run resumes)"
	}
	return m.styles.Label.Render("backfill") + " " + what
}

// SetReconcile shows the last background reconcile.
func (m *statusModel) SetReconcile(r ReconcileMsg) { m.reconcile = &r }

// reconcileView is the last background reconcile, for the counts line.
func (m statusModel) reconcileView() string {
	r := m.reconcile
	what := "no drift"
	switch {
	case r.Error != "":
		return m.styles.Label.Render("reconcile "+clock(r.At)) + " " + m.styles.FlashError.Render("failed: "+r.Error)
	case r.Drift > 0 && r.Repaired == r.Drift:
		what = plural(r.Drift, "user") + " drifted, all repaired"
	case r.Drift > 0:
		what = fmt.Sprintf("%s drifted, %d repaired", plural(r.Drift, "user"), r.Repaired)
	}
	return m.styles.Label.Render("reconcile "+clock(r.At)) + " " + what
}

// SetTunnel shows the tunnel's last status.
func (m *statusModel) SetTunnel(s tunnel.Status) { m.tunnel = &s }

// Flash shows text in place of the key help for a few seconds.
func (m *statusModel) Flash(text string, isError bool) tea.Cmd {
	m.flashID++
	m.flash, m.isError = text, isError
	id := m.flashID
	return m.tick(flashFor, func(time.Time) tea.Msg { return flashDoneMsg{id} })
}

// Update ends the flash when its time is up.
func (m statusModel) Update(msg tea.Msg) (statusModel, tea.Cmd) {
	if msg, ok := msg.(flashDoneMsg); ok && msg.id == m.flashID {
		m.flash = ""
	}
	return m, nil
}

// View renders the bar.
func (m statusModel) View() string {
	s := m.styles
	label := func(l, v string) string { return s.Label.Render(l) + " " + orNone(v) }
	dot := s.Muted.Render(" · ")
	first := label("listen", m.info.Listen) + dot + label("webhook", m.info.WebhookURL)
	if m.info.ForwardTo != "" { // the webhook URL holds the listen address
		first = label("webhook", m.info.WebhookURL) + dot + label("forward to", m.info.ForwardTo)
	}
	lines := []string{first}
	if t := m.tunnel; t != nil {
		parts := []string{label("tunnel", publicURL(t.URL, m.info.WebhookURL)), string(t.State)}
		if t.Latency > 0 {
			parts = append(parts, label("heartbeat", latency(t.Latency)))
		}
		if t.Err != "" {
			parts = append(parts, s.FlashError.Render(strings.TrimSpace(t.Code+" "+t.Err)))
		}
		if m.info.LocalSecret {
			parts = append(parts, s.FlashError.Render("the secret was made here: Clerk's deliveries will fail as bad-signature until you use the endpoint's own"))
		}
		lines = append(lines, strings.Join(parts, dot))
	}
	head := label("db", m.info.Database) + dot + label("secret", m.info.Fingerprint) + dot + s.Label.Render("log") + " "
	lines = append(lines, head+cutStart(orNone(m.info.LogFile), max(12, m.width-lipgloss.Width(head))), m.countsView())
	switch {
	case m.flash != "" && m.isError:
		lines = append(lines, s.FlashError.Render("✗ "+m.flash))
	case m.flash != "":
		lines = append(lines, s.Flash.Render("✓ "+m.flash))
	default:
		lines = append(lines, m.help.ShortHelpView(m.keys.ShortHelp()))
	}
	return block(lines, m.width, len(lines))
}

func (m statusModel) countsView() string {
	var parts []string
	seen := map[string]bool{}
	for _, o := range outcomes {
		seen[o] = true
		if n := m.counts[o]; n > 0 {
			parts = append(parts, m.styles.Outcome[o].Render(o)+" "+strconv.Itoa(n))
		}
	}
	var others []string
	for o := range m.counts {
		if !seen[o] {
			others = append(others, o)
		}
	}
	slices.Sort(others)
	for _, o := range others {
		parts = append(parts, orNone(o)+" "+strconv.Itoa(m.counts[o]))
	}
	line := m.styles.Label.Render("deliveries") + " none yet"
	if len(parts) > 0 {
		line = m.styles.Label.Render("deliveries") + " " + strings.Join(parts, m.styles.Muted.Render(" · "))
	}
	if m.reconcile != nil {
		line += m.styles.Muted.Render(" · ") + m.reconcileView()
	}
	if m.backfill != nil {
		line += m.styles.Muted.Render(" · ") + m.backfillView()
	}
	return line
}

// FullHelpView is the help screen (?).
func (m statusModel) FullHelpView() string {
	return m.help.FullHelpView(m.keys.FullHelp())
}

// publicURL is the webhook URL on the tunnel: its base URL and the local
// webhook URL's path.
func publicURL(base, local string) string {
	if base == "" {
		return ""
	}
	u, err := url.Parse(local)
	if err != nil {
		return base
	}
	return strings.TrimSuffix(base, "/") + u.Path
}
