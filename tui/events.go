package tui

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// ringSize is how many deliveries the events pane keeps, at least: the
// oldest go when more arrive, unless they were loaded on purpose (o).
const ringSize = 1000

// idWidth is the width of a whole Clerk or Svix id, such as
// user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C.
const idWidth = 32

// keepBytes is the largest body (and answer) that the pane keeps: the ring
// must not hold a flood of large bodies in memory. A larger verified body
// is read from the ledger again when it is needed.
const keepBytes = 16 << 10

// entry is one delivery of the events pane and what it did to its row.
type entry struct {
	id     int // the pane's own number, stable while the entry lives
	d      Delivery
	ledger bool // loaded from the ledger: no request headers, no answer
	// droppedBody and droppedResponse are the sizes of a body and an
	// answer too large to keep; 0 when kept.
	droppedBody, droppedResponse int

	// The row of d.UserID as the rows pane had it before the refresh that
	// followed the delivery (before), and after that refresh (after). Set
	// only for applied deliveries.
	diff    diffState
	before  *store.User
	after   *store.User
	refresh int // the refresh whose result is "after"

	rendered    string  // the entry's line as last rendered, for renderedFor
	renderedFor lineKey // the layout it was rendered in

	// triedQuery is the filter last tried on the entry and passes its
	// answer: what a filter looks at never changes once the entry is
	// kept, and lowering a body of up to keepBytes on every frame would
	// cost more than the frame.
	triedQuery string
	passes     bool
}

// newEntry is d as the pane keeps it: a body or answer over keepBytes is
// dropped, and a kept one is copied, so that no larger buffer of the
// receiver's stays reachable through it.
func newEntry(d Delivery, ledger bool) *entry {
	e := &entry{ledger: ledger}
	d.Body, e.droppedBody = keep(d.Body)
	d.Response, e.droppedResponse = keep(d.Response)
	e.d = d
	return e
}

// keep returns a copy of b and 0, or nil and b's size when b is too large.
func keep(b []byte) ([]byte, int) {
	if len(b) > keepBytes {
		return nil, len(b)
	}
	return bytes.Clone(b), 0
}

// bodyDropped reports whether the entry's body was too large to keep.
func (e *entry) bodyDropped() bool { return e.droppedBody > 0 }

// bodySize is the size of the body, kept or not.
func (e *entry) bodySize() int { return max(e.droppedBody, len(e.d.Body)) }

// diffState says how much of an entry's row change is known.
type diffState int

const (
	diffNone       diffState = iota // the delivery changed no row
	diffPending                     // waiting for the refresh after it
	diffDone                        // before and after are known
	diffNoRowsYet                   // it arrived before the rows were first read
	diffOtherTable                  // it changed a table the rows pane did not show
)

// eventsModel is the events pane: deliveries newest first, a cursor that
// follows the newest until it is moved, and a filter.
type eventsModel struct {
	keys   *KeyMap
	styles *Styles

	all    []*entry // oldest first
	limit  int
	lastID int

	input  textinput.Model
	query  string // the filter in effect, lower case
	typing bool

	sel     int  // the selected entry's id; 0 when there is none
	follow  bool // keep the cursor on the newest delivery
	offset  int  // the first visible line of the list
	focused bool

	width, height int
	userW, svixW  int
	reasonW       int

	// vis is the last answer of visible(), behind a pointer so that the
	// value receivers that ask for it (a frame asks several times) can
	// keep it; its key makes it right for whichever copy of the model
	// asks.
	vis *visibleCache
}

// visibleCache is a list of visible() and what it depends on.
type visibleCache struct {
	key  visibleKey
	list []*entry
}

// visibleKey is what visible() depends on: the filter and the entries
// kept. Every change to those puts an entry with a new id at one end (Add
// at the newest, when it also drops the oldest; AddOlder at the oldest),
// and ids are never reused, so the ids at the ends tell them apart.
type visibleKey struct {
	query          string
	oldest, newest int
}

func newEvents(keys *KeyMap, styles *Styles) eventsModel {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "type, id, outcome, body text or a user's email/name"
	st := in.Styles()
	st.Cursor.Blink = false // a blinking cursor would make every frame differ
	in.SetStyles(st)
	return eventsModel{keys: keys, styles: styles, limit: ringSize, input: in, follow: true, focused: true,
		vis: &visibleCache{}}
}

// SetSize lays the pane out in w columns and h lines.
func (m *eventsModel) SetSize(w, h int) {
	m.width, m.height = w, h
	// marker 2, time 8, type 12, ✓ 1, outcome 9, status 3, latency 5,
	// and the gaps between the nine columns.
	const fixed = 2 + 8 + 12 + 1 + 9 + 3 + 5 + 8
	m.userW, m.svixW = 10, 9
	m.reasonW = max(0, w-fixed-m.userW-m.svixW)
	if extra := m.reasonW - 24; extra > 0 {
		grow := min(extra/2, idWidth-m.userW) // up to whole ids
		m.userW, m.svixW, m.reasonW = m.userW+grow, m.svixW+grow, m.reasonW-2*grow
	}
	m.input.SetWidth(max(1, w-20))
	m.scrollTo(m.index())
}

// Focus gives the pane the cursor keys.
func (m *eventsModel) Focus(on bool) { m.focused = on }

// Typing reports whether a filter is being typed.
func (m eventsModel) Typing() bool { return m.typing }

// Filtered reports whether a filter is in effect.
func (m eventsModel) Filtered() bool { return m.query != "" }

// Add puts new deliveries (oldest first) at the top. The oldest
// deliveries beyond the ring's size go.
func (m *eventsModel) Add(es ...*entry) {
	for _, e := range es {
		m.lastID++
		e.id = m.lastID
		m.all = append(m.all, e)
		if m.matches(e) {
			if m.follow || m.sel == 0 {
				m.sel, m.offset = e.id, 0
			} else {
				m.offset++ // keep the lines on screen where they were
			}
		}
	}
	if over := len(m.all) - m.limit; over > 0 {
		m.all = slices.Delete(m.all, 0, over)
	}
	m.scrollTo(m.index())
}

// AddOlder appends deliveries from the ledger (newest first) below the
// oldest one, skipping those already shown. It returns how many it added.
func (m *eventsModel) AddOlder(ds []Delivery) int {
	seen := map[string]bool{}
	for _, e := range m.all {
		seen[e.d.SvixID] = true
	}
	var older []*entry
	for _, d := range slices.Backward(ds) {
		if seen[d.SvixID] {
			continue
		}
		seen[d.SvixID] = true
		m.lastID++
		e := newEntry(d, true)
		e.id = m.lastID
		older = append(older, e)
	}
	m.all = append(older, m.all...)
	m.limit = max(m.limit, len(m.all))
	m.scrollTo(m.index())
	return len(older)
}

// HistoryFrom is where the ledger's page before the oldest delivery shown
// starts, if one is shown. A delivery read from the ledger has its exact
// place there. One that came live has only the time its handler began,
// and the ledger stamped it later, before the answer: the page starts at
// the answer, and AddOlder skips what is shown already.
func (m eventsModel) HistoryFrom() (store.Position, bool) {
	if len(m.all) == 0 {
		return store.Position{}, false
	}
	d := m.all[0].d
	if m.all[0].ledger {
		return store.Position{ReceivedAt: d.Received, SvixID: d.SvixID}, true
	}
	return store.Before(d.Received.Add(d.Latency)), true
}

// Entries returns every entry, oldest first.
func (m eventsModel) Entries() []*entry { return m.all }

// Selected returns the selected entry, or nil.
func (m eventsModel) Selected() *entry {
	vis := m.visible()
	if i := m.index(); i >= 0 {
		return vis[i]
	}
	return nil
}

// StartFilter focuses the filter input.
func (m *eventsModel) StartFilter() tea.Cmd {
	m.typing = true
	m.input.CursorEnd()
	return m.input.Focus()
}

// ClearFilter removes the filter.
func (m *eventsModel) ClearFilter() {
	m.typing, m.query = false, ""
	m.input.Reset()
	m.input.Blur()
	m.scrollTo(m.index())
}

// Update moves the cursor, or edits the filter while it is typed.
func (m eventsModel) Update(msg tea.Msg) (eventsModel, tea.Cmd) {
	if m.typing {
		return m.updateFilter(msg)
	}
	if delta, ok := m.keys.movement(msg, m.bodyHeight()); ok {
		m.move(delta)
	}
	return m, nil
}

func (m eventsModel) updateFilter(msg tea.Msg) (eventsModel, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Apply):
			m.typing = false
			m.input.Blur()
			return m, nil
		case key.Matches(k, m.keys.Clear):
			m.ClearFilter()
			return m, nil
		}
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	m.query = strings.ToLower(strings.TrimSpace(m.input.Value()))
	m.offset = 0
	m.scrollTo(m.index())
	return m, cmd
}

// move moves the cursor by delta lines; at the top it follows again.
func (m *eventsModel) move(delta int) {
	vis := m.visible()
	if len(vis) == 0 {
		return
	}
	i := min(max(m.index()+delta, 0), len(vis)-1)
	m.sel, m.follow = vis[i].id, i == 0
	m.scrollTo(i)
}

// scrollTo keeps line i (the cursor) on screen.
func (m *eventsModel) scrollTo(i int) {
	m.offset = scroll(m.offset, i, m.bodyHeight(), len(m.visible()))
}

// index is the selected entry's line in visible(); a selection that the
// filter hides or the ring dropped falls back to the newest line.
func (m *eventsModel) index() int {
	vis := m.visible()
	for i, e := range vis {
		if e.id == m.sel {
			return i
		}
	}
	if len(vis) == 0 {
		return -1
	}
	m.sel, m.follow = vis[0].id, true
	return 0
}

// visible returns the entries that the filter lets through, newest first.
// The list is shared: callers must not change it.
func (m eventsModel) visible() []*entry {
	key := visibleKey{query: m.query}
	if n := len(m.all); n > 0 {
		key.oldest, key.newest = m.all[0].id, m.all[n-1].id
	}
	if m.vis != nil && m.vis.key == key {
		return m.vis.list
	}
	vis := make([]*entry, 0, len(m.all))
	for _, e := range slices.Backward(m.all) {
		if m.matches(e) {
			vis = append(vis, e)
		}
	}
	if m.vis != nil {
		*m.vis = visibleCache{key, vis}
	}
	return vis
}

// matches reports whether the filter lets e through: its type, user id,
// svix id, outcome, reason or body holds the query, in any case. An
// entry is tried again only when the query changes.
func (m eventsModel) matches(e *entry) bool {
	if m.query == "" {
		return true
	}
	if e.triedQuery != m.query {
		e.triedQuery, e.passes = m.query, holds(e.d, m.query)
	}
	return e.passes
}

// holds reports whether d's type, user id, svix id, outcome, reason or
// body holds q (lower case), in any case. The body is lowered into a copy
// that is dropped at once: keeping a lowered copy of every body would
// double what the ring holds.
func holds(d Delivery, q string) bool {
	for _, s := range []string{d.EventType, d.UserID, d.SvixID, d.Outcome, d.Reason} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return bytes.Contains(bytes.ToLower(d.Body), []byte(q))
}

// Query is the filter in effect, lower case.
func (m eventsModel) Query() string { return m.query }

// SetFilter applies q as the filter, as if typed.
func (m *eventsModel) SetFilter(q string) {
	m.typing = false
	m.input.SetValue(q)
	m.input.Blur()
	m.query = strings.ToLower(q)
	m.offset = 0
	m.scrollTo(m.index())
}

func (m eventsModel) bodyHeight() int { return max(0, m.height-2) }

// View renders the title, the column headers and the visible lines.
func (m eventsModel) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	vis := m.visible()
	i := m.index()
	lines := []string{m.title(len(vis)), m.styles.Header.Render(joinColumns("  ", m.columns(nil), false))}
	switch {
	case len(vis) == 0 && m.query != "":
		lines = append(lines, m.styles.Muted.Render(fmt.Sprintf("  No delivery matches %q (esc clears the filter).", m.query)))
	case len(vis) == 0:
		lines = append(lines, m.styles.Muted.Render("  No deliveries yet. c sends a user.created; s runs the out-of-order scenario."),
			m.styles.Muted.Render("  From Clerk: Dashboard → Webhooks → Add endpoint, the tunnel's URL (--tunnel),"),
			m.styles.Muted.Render("  for user.*, organization.*, organizationMembership.*; secret in .env.local."))
	}
	for j := m.offset; j < len(vis) && j < m.offset+m.bodyHeight(); j++ {
		lines = append(lines, m.line(vis[j], j == i))
	}
	return block(lines, m.width, m.height)
}

func (m eventsModel) title(shown int) string {
	name := " Events "
	st := m.styles.TitleBlurred
	if m.focused {
		name, st = "[Events]", m.styles.Title
	}
	count := plural(len(m.all), "delivery")
	if shown != len(m.all) {
		count = fmt.Sprintf("%d of %s", shown, count)
	}
	if n := m.history(); n > 0 {
		count += fmt.Sprintf(" (%d history)", n)
	}
	state := "following"
	if !m.follow && m.index() > 0 {
		state = "paused: g to the top follows"
	}
	if m.typing {
		head := fmt.Sprintf("%s %s · filter ", name, count)
		return st.Render(head) + m.input.View()
	}
	parts := []string{count, state}
	if m.query != "" {
		parts = append(parts, fmt.Sprintf("filter %q (esc clears)", strings.TrimSpace(m.input.Value())))
	}
	return st.Render(cell(name+" "+strings.Join(parts, " · "), m.width))
}

// column is one cell of a line: its text and its style.
type column struct {
	text  string
	width int
	style lipgloss.Style
}

// columns lays out one delivery, or the headers when e is nil.
func (m eventsModel) columns(e *entry) []column {
	s, plain := m.styles, lipgloss.NewStyle()
	if e == nil {
		return []column{{"time", 8, plain}, {"type", 12, plain}, {"id", m.userW, plain},
			{"svix id", m.svixW, plain}, {"✓", 1, plain}, {"outcome", 9, plain}, {"st", 3, plain},
			{"lat", 5, plain}, {"reason", m.reasonW, plain}}
	}
	d := e.d
	ver, verStyle := "✓", s.Verified
	if !d.Verified {
		ver, verStyle = "✗", s.Unverified
	}
	reasonStyle := s.Muted
	if d.Outcome == string(store.Rejected) || d.Outcome == string(store.Failed) {
		reasonStyle = s.Outcome[d.Outcome]
	}
	return []column{
		{clock(d.Received), 8, s.Muted},
		{orNone(shortType(d.EventType)), 12, plain},
		{shortID(entityOf(d), m.userW), m.userW, plain},
		{shortID(d.SvixID, m.svixW), m.svixW, s.Muted},
		{ver, 1, verStyle},
		{d.Outcome, 9, s.Outcome[d.Outcome]},
		{status(d.Status), 3, plain},
		{latency(d.Latency), 5, s.Muted},
		{d.Reason, m.reasonW, reasonStyle},
	}
}

// line renders e, or returns its line as last rendered when nothing it
// depends on changed: under a stream of deliveries most lines of a frame
// were in the frame before, only lower.
func (m eventsModel) line(e *entry, selected bool) string {
	key := lineKey{m.width, m.userW, m.svixW, m.reasonW, selected, m.focused}
	if e.rendered != "" && e.renderedFor == key {
		return e.rendered
	}
	e.rendered, e.renderedFor = m.render(e, selected), key
	return e.rendered
}

// lineKey is what a rendered line depends on besides its entry.
type lineKey struct {
	width, userW, svixW, reasonW int
	selected, focused            bool
}

func (m eventsModel) render(e *entry, selected bool) string {
	marker := "  "
	switch {
	case selected:
		marker = "> "
	case e.ledger:
		marker = "h " // history: read from the ledger
	}
	switch {
	case selected && m.focused:
		return m.styles.Selected.Render(cell(joinColumns(marker, m.columns(e), false), m.width))
	case selected:
		return m.styles.SelectedDim.Render(cell(joinColumns(marker, m.columns(e), false), m.width))
	default:
		return joinColumns(marker, m.columns(e), true)
	}
}

// history is how many of the deliveries were read from the ledger.
func (m eventsModel) history() int {
	n := 0
	for _, e := range m.all {
		if e.ledger {
			n++
		}
	}
	return n
}

// joinColumns lays cells out in their widths, one space apart, after a
// marker such as "> " on the cursor line. styled renders each cell in its
// own style; otherwise the line is plain text for the caller to style.
func joinColumns(marker string, cols []column, styled bool) string {
	var b strings.Builder
	b.WriteString(marker)
	for _, c := range cols {
		if c.width <= 0 {
			continue
		}
		if b.Len() > len(marker) {
			b.WriteByte(' ')
		}
		text := cell(c.text, c.width)
		if styled {
			text = c.style.Render(text)
		}
		b.WriteString(text)
	}
	return b.String()
}

// scroll returns the first line to show of n lines in a body of h lines,
// from offset, so that line i is shown.
func scroll(offset, i, h, n int) int {
	if i >= 0 && i < offset {
		offset = i
	}
	if h > 0 && i >= offset+h {
		offset = i - h + 1
	}
	return max(0, min(offset, n-h))
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
