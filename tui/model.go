package tui

import (
	"os/exec"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// sideBySide is the narrowest terminal that shows the rows beside the
// events; a narrower one shows them below.
const sideBySide = 140

// wholeIDs is the width of an events pane that shows whole user and svix
// ids; sideRows is the rows pane beside it when the terminal is wide
// enough for both.
const (
	wholeIDs = 135
	sideRows = 64
)

// Model is the inspector, the root tea.Model: it holds one model per pane
// (events, rows, detail, status bar), routes keys and messages to them,
// and turns the keys that act into commands on the Backend.
type Model struct {
	backend Backend
	keys    KeyMap
	styles  Styles

	events eventsModel
	rows   rowsModel
	detail detailModel
	status statusModel

	showHelp    bool
	rowsFocused bool
	// jumped is the user whose deliveries enter on a row showed: esc
	// clears that filter and goes back to the row.
	jumped string
	width  int
	height int

	refreshes int           // the last refresh of the rows asked for
	reading   bool          // a read of the rows runs, or waits its turn
	shown     int           // the refresh whose rows are shown
	lastRead  time.Time     // when the last read of the rows began
	readTook  time.Duration // how long the last read of the rows took
	// exec runs the editor in the terminal: tea.ExecProcess, which tests
	// replace with a plain run.
	exec func(*exec.Cmd, tea.ExecCallback) tea.Cmd
	// rowsEvery is the least time between two reads of the rows: under a
	// stream of deliveries the table is read once a second, not
	// once a delivery, so that the screen costs the receiver little.
	rowsEvery time.Duration
	// readShare spaces the reads by their length: the next begins no
	// sooner than readShare times the last one's length after it began.
	readShare int
}

// New returns the inspector of the receiver that b reaches; info fills
// the status bar.
func New(b Backend, info Info) *Model {
	m := &Model{backend: b, keys: DefaultKeyMap(), styles: DefaultStyles(), rowsEvery: rowsEvery, readShare: readShare, exec: tea.ExecProcess}
	m.events = newEvents(&m.keys, &m.styles)
	m.rows = newRows(&m.keys, &m.styles)
	m.detail = newDetail(&m.keys, &m.styles, info)
	m.status = newStatus(info, &m.keys, &m.styles)
	m.sync()
	return m
}

// Init reads the users table and the recent history of the ledger.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.refreshRows(), m.loadHistory(true), m.readBackfill())
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
	case tea.KeyPressMsg:
		cmd = m.key(msg)
	case DeliveriesMsg:
		cmd = m.add(msg)
	case ReconcileMsg:
		m.status.SetReconcile(msg)
	case backfillMsg:
		// A failed reading (the database busy a moment) leaves the status
		// bar as it was; the next one is asked for all the same.
		if msg.err == nil {
			m.status.SetBackfill(msg.run)
		}
		cmd = m.status.tick(backfillEvery, func(time.Time) tea.Msg { return readBackfillMsg{} })
	case readBackfillMsg:
		cmd = m.readBackfill()
	case TunnelMsg:
		h := m.status.Height()
		m.status.SetTunnel(msg.Status)
		if m.status.Height() != h { // the first status adds the tunnel line
			m.layout()
		}
	case readRowsMsg:
		cmd = m.startRead()
	case rowsMsg:
		cmd = m.showRows(msg)
	case historyMsg:
		cmd = m.showHistory(msg)
	case editReadyMsg:
		cmd = m.openEditor(msg)
	case editedMsg:
		cmd = m.sendEdited(msg)
	case bodyMsg:
		m.detail.SetBody(msg)
	case doneMsg:
		switch {
		case msg.err != nil:
			cmd = m.status.Flash(msg.what+": "+msg.err.Error(), true)
		case msg.ok != "":
			cmd = m.status.Flash(msg.ok, false)
		}
	case flashDoneMsg:
		m.status, cmd = m.status.Update(msg)
	default:
		if m.events.Typing() { // e.g. a paste into the filter
			m.events, cmd = m.events.Update(msg)
		}
	}
	m.sync()
	return m, cmd
}

// key handles a key press: the keys that act first, then those of the
// view in front.
func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "ctrl+c" {
		return tea.Quit
	}
	var cmd tea.Cmd
	km := &m.keys
	switch {
	case m.events.Typing():
		m.events, cmd = m.events.Update(k)
	case key.Matches(k, km.Quit):
		return tea.Quit
	case key.Matches(k, km.Help):
		m.showHelp = !m.showHelp
	case key.Matches(k, km.Back) && m.showHelp:
		m.showHelp = false
	case m.showHelp:
	case key.Matches(k, km.Create):
		return m.send("user.created")
	case key.Matches(k, km.Update):
		return m.send("user.updated")
	case key.Matches(k, km.Delete):
		return m.send("user.deleted")
	case key.Matches(k, km.Scenario):
		return m.scenario()
	case key.Matches(k, km.Replay):
		return m.act("replay", m.backend.Replay)
	case key.Matches(k, km.Resend):
		return m.act("re-send", m.backend.Resend)
	case key.Matches(k, km.Edit):
		return m.startEdit()
	case key.Matches(k, km.Copy):
		return m.copyCurl()
	case key.Matches(k, km.Back):
		m.detail.Show(nil)
	case m.inDetail():
		m.detail, cmd = m.detail.Update(k)
	case key.Matches(k, km.Older):
		return m.loadHistory(false)
	case key.Matches(k, km.Tombstones):
		m.rows.ToggleTombstones()
	case key.Matches(k, km.Table):
		return m.showKind(nextKind(m.rows.kind))
	case key.Matches(k, km.Clear):
		m.events.ClearFilter()
		if m.jumped != "" {
			m.focus(true)
			m.rows.moveTo(m.jumped)
			m.jumped = ""
		}
	case key.Matches(k, km.Switch):
		m.focus(!m.rowsFocused)
	case key.Matches(k, km.Filter):
		m.focus(false)
		cmd = m.events.StartFilter()
	case key.Matches(k, km.Open) && m.rowsFocused:
		// The user's deliveries: the filter holds the user id.
		if id := m.rows.Current(); id != "" {
			m.jumped = id
			m.events.SetFilter(id)
			m.focus(false)
		}
	case key.Matches(k, km.Open):
		if e := m.events.Selected(); e != nil {
			m.detail.Show(e)
			// The delivery's kind selects the table beside it.
			return tea.Batch(m.loadBody(e), m.showKind(kindOf(e.d)))
		}
	case m.rowsFocused:
		m.rows, cmd = m.rows.Update(k)
	default:
		m.events, cmd = m.events.Update(k)
	}
	return cmd
}

// focus gives the cursor keys to the rows, or to the events. The rows'
// cursor goes to the row of the selected delivery, if it has one.
func (m *Model) focus(rows bool) {
	if rows && !m.rowsFocused {
		if e := m.events.Selected(); e != nil && kindOf(e.d) == m.rows.kind {
			m.rows.moveTo(entityOf(e.d))
		}
	}
	m.rowsFocused = rows
	m.rows.Focus(rows)
	m.events.Focus(!rows)
}

// sync brings what depends on the state up to date: the keys that work,
// and the row that the selected event touched.
func (m *Model) sync() {
	md := modeList
	switch {
	case m.events.Typing():
		md = modeFilter
	case m.showHelp:
		md = modeHelp
	case m.inDetail():
		md = modeDetail
	}
	m.keys.setMode(md, m.rowsFocused, m.events.Filtered())
	m.rows.SetQuery(m.events.Query())
	if e := m.selected(); e != nil && kindOf(e.d) == m.rows.kind {
		m.rows.SetTouched(entityOf(e.d))
	} else {
		m.rows.SetTouched("")
	}
}

// layout sizes the panes to the terminal: the rows beside the events on
// a wide terminal, below them on a narrow one.
func (m *Model) layout() {
	w, h := m.width, m.height
	m.status.SetSize(w)
	body := max(0, h-m.status.Height())
	m.detail.SetSize(w, body)
	if w >= sideBySide {
		ew := max(80, w*11/20)
		if w >= wholeIDs+sideRows+1 { // room for whole ids beside a useful rows pane
			ew = max(ew, min(wholeIDs, w-sideRows-1))
		}
		m.events.SetSize(ew, body)
		m.rows.SetSize(w-ew-1, body)
		return
	}
	eh := (body + 1) / 2
	m.events.SetSize(w, eh)
	m.rows.SetSize(w, body-eh)
}

// View implements tea.Model.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "clerk-sync inspector"
	return v
}

// render is the screen as text.
func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	body := max(0, m.height-m.status.Height())
	var top string
	switch {
	case m.showHelp:
		top = block([]string{m.styles.Title.Render(cell("[Help] ? or esc closes", m.width)), "",
			m.status.FullHelpView(), "", legend}, m.width, body)
	case m.inDetail():
		top = m.detail.View()
	case m.width >= sideBySide:
		bar := m.styles.Muted.Render(strings.TrimSuffix(strings.Repeat("│\n", body), "\n"))
		top = lipgloss.JoinHorizontal(lipgloss.Top, m.events.View(), bar, m.rows.View())
	default:
		top = lipgloss.JoinVertical(lipgloss.Left, m.events.View(), m.rows.View())
	}
	if body == 0 { // a terminal too short for more than (part of) the status bar
		return block([]string{m.status.View()}, m.width, m.height)
	}
	return top + "\n" + m.status.View()
}

// legend explains the markers, which carry the meaning without colour.
const legend = `Markers
  >  the cursor                *  the row that the selected event touched
  ✓  verified                  ✗  not verified (the reason follows)
  †  a tombstone               —  not known (e.g. loaded from the ledger)
  h  history: read from the ledger (at start, or with o)`

// selected is the delivery that the keys act on: the one in the detail
// view, else the one under the events cursor.
// inDetail reports whether the detail view is open.
func (m *Model) inDetail() bool { return m.detail.Entry() != nil }

func (m *Model) selected() *entry {
	if m.inDetail() {
		return m.detail.Entry()
	}
	return m.events.Selected()
}

// add shows new deliveries; those that changed the table — applied, or
// forwarded to an app that accepted them — refresh the rows (once for
// all), and keep their row as it was before that refresh.
func (m *Model) add(ds []Delivery) tea.Cmd {
	es := make([]*entry, len(ds))
	var changed []*entry
	for i, d := range ds {
		m.status.Count(d.Outcome)
		e := newEntry(d, false)
		if d.Outcome == string(store.Applied) || (d.Outcome == webhook.OutcomeForwarded && d.Status >= 200 && d.Status < 300) {
			// The change is seen in the table shown, when it is the
			// delivery's kind's.
			e.diff = diffOtherTable
			switch {
			case kindOf(d) != m.rows.kind:
			case m.rows.Loaded():
				e.diff, e.before = diffPending, m.rows.Row(entityOf(d))
			default:
				e.diff = diffNoRowsYet
			}
			changed = append(changed, e)
		}
		es[i] = e
	}
	var cmd tea.Cmd
	if len(changed) > 0 {
		cmd = m.refreshRows()
		for _, e := range changed {
			e.refresh = m.refreshes
		}
	}
	m.events.Add(es...)
	return cmd
}

// showKind puts the table of kind in the rows pane and reads it.
func (m *Model) showKind(kind store.Kind) tea.Cmd {
	if kind == m.rows.kind {
		return nil
	}
	m.rows.SetKind(kind)
	m.detail.Refresh()
	// A reading under way is of the table shown before: another follows.
	m.refreshes++
	if m.reading {
		return nil
	}
	return m.readRows()
}

// showRows shows a reading of the table, unless a later one is already
// shown, and completes the row changes that waited for it.
func (m *Model) showRows(msg rowsMsg) tea.Cmd {
	m.reading, m.readTook = false, msg.took
	var again tea.Cmd
	if msg.seq < m.refreshes {
		again = m.readRows() // asked for while this one ran
	}
	if msg.kind != m.rows.kind {
		return again // a reading of the table shown before
	}
	if msg.err != nil {
		return tea.Batch(m.status.Flash("reading the rows: "+msg.err.Error(), true), again)
	}
	if msg.seq < m.shown {
		return again
	}
	m.shown = msg.seq
	m.rows.SetRows(msg.users, msg.states)
	for _, e := range m.events.Entries() {
		if e.diff == diffPending && e.refresh <= msg.seq && kindOf(e.d) == m.rows.kind {
			e.after, e.diff = m.rows.Row(entityOf(e.d)), diffDone
		}
	}
	m.detail.Refresh()
	return again
}

func (m *Model) showHistory(msg historyMsg) tea.Cmd {
	if msg.err != nil {
		return m.status.Flash("loading older deliveries: "+msg.err.Error(), true)
	}
	n := m.events.AddOlder(msg.ds)
	switch {
	case msg.start:
		return nil // the lines say it: marked h, counted in the title
	case n > 0:
		return m.status.Flash("loaded "+plural(n, "older delivery")+" from the ledger", false)
	}
	return m.status.Flash("no older deliveries in the ledger", false)
}
