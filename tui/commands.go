package tui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The commands: each calls the Backend inside the tea.Cmd it returns, and
// answers with a message.

const (
	// historyPage is how many ledger rows are shown at start, and how
	// many more one press of o loads.
	historyPage = 200
	// cmdTimeout bounds each call to the backend.
	cmdTimeout = 15 * time.Second
	// scenarioName is the scenario that s runs.
	scenarioName = "out-of-order"
	// rowsEvery is the least time between two reads of the users table.
	rowsEvery = time.Second
	// readShare bounds the time the rows' reads take: the next read
	// begins no sooner than readShare times the last one's length after
	// it began, so that reading a table of 100,000 users, which takes a
	// while, costs the receiver a tenth of a core at most, however many
	// deliveries arrive.
	readShare = 10
)

// rowsMsg is a reading of the users table, the answer to refresh seq.
type rowsMsg struct {
	seq    int
	kind   store.Kind
	users  []store.User
	states []store.State
	took   time.Duration // how long the read took
	err    error
}

// historyMsg is a page of older deliveries from the ledger; start says it
// is the history read at start.
type historyMsg struct {
	ds    []Delivery
	start bool
	err   error
}

// bodyMsg is a body read from the ledger for the detail view.
type bodyMsg struct {
	e    *entry
	body []byte
	err  error
}

// doneMsg ends a command that acts: err is flashed if set, else ok if set.
type doneMsg struct {
	what string
	ok   string
	err  error
}

// readRowsMsg starts a read of the rows that waited its turn.
type readRowsMsg struct{}

// refreshRows asks for a reading of the users table. One read runs at a
// time, at most one every rowsEvery: asked for while one runs or waits,
// the next starts when it ends (showRows) and serves every request made
// meanwhile, so a stream of deliveries costs a few reads a second, not
// one each.
func (m *Model) refreshRows() tea.Cmd {
	m.refreshes++
	if m.reading {
		return nil
	}
	return m.readRows()
}

// readRows reads the users table now, or once rowsGap has passed since the
// last read began.
func (m *Model) readRows() tea.Cmd {
	m.reading = true
	if wait := m.rowsGap() - time.Since(m.lastRead); wait > 0 {
		return tea.Tick(wait, func(time.Time) tea.Msg { return readRowsMsg{} })
	}
	return m.startRead()
}

// rowsGap is the least time from the start of one read of the rows to
// the next: rowsEvery, or readShare times the last read's length if that
// is longer.
func (m *Model) rowsGap() time.Duration {
	return max(m.rowsEvery, time.Duration(m.readShare)*m.readTook)
}

// startRead reads the users table for every refresh asked for so far.
func (m *Model) startRead() tea.Cmd {
	m.lastRead = time.Now()
	seq, b, kind := m.refreshes, m.backend, m.rows.kind
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		began := time.Now()
		users, states, err := b.Rows(ctx, kind)
		return rowsMsg{seq: seq, kind: kind, users: users, states: states, took: time.Since(began), err: err}
	}
}

// loadHistory asks the ledger for the deliveries before the oldest shown
// (see HistoryFrom): at start the recent history, later (o) the page
// before it. AddOlder skips what is already shown.
func (m *Model) loadHistory(start bool) tea.Cmd {
	from, ok := m.events.HistoryFrom()
	b := m.backend
	return func() tea.Msg {
		if !ok {
			from = store.Before(time.Now())
		}
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		recs, err := b.History(ctx, from, historyPage)
		ds := make([]Delivery, len(recs))
		for i, r := range recs {
			ds[i] = fromRecord(r)
		}
		return historyMsg{ds: ds, start: start, err: err}
	}
}

// fromRecord is a ledger row as a delivery: it was verified (the ledger
// keeps nothing else), and its status and latency are not kept. The
// ledger has no column for the entity's id, so it is read from the body
// here, once, while the body is whole: the pane may drop a large body,
// and entityOf is asked on every message.
func fromRecord(r store.Record) Delivery {
	return Delivery{
		Received:  r.ReceivedAt,
		SvixID:    r.SvixID,
		EventType: r.Type,
		ID:        gjson.GetBytes(r.Payload, "data.id").Str,
		UserID:    r.UserID,
		Verified:  true,
		Outcome:   string(r.Outcome),
		Error:     r.Error,
		Body:      r.Payload,
	}
}

// loadBody reads the body of e from the ledger when the pane did not keep
// it; the detail view holds it while it shows e.
func (m *Model) loadBody(e *entry) tea.Cmd {
	if !e.bodyDropped() {
		return nil
	}
	b, id := m.backend, e.d.SvixID
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		body, err := b.Body(ctx, id)
		return bodyMsg{e: e, body: body, err: err}
	}
}

// withBody is d with its exact body, read from the ledger when the pane
// did not keep it (dropped is then its size).
func withBody(ctx context.Context, b Backend, d Delivery, dropped int) (Delivery, error) {
	if dropped == 0 {
		return d, nil
	}
	body, err := b.Body(ctx, d.SvixID)
	if err != nil {
		return d, fmt.Errorf("the body (%s) was not kept: %w", plural(dropped, "byte"), err)
	}
	d.Body = body
	return d, nil
}

// send fires a mock event; updates and deletes act on the selected user
// (the selected row when the rows pane has the cursor, else the selected
// event's), or on the last one created when there is none.
func (m *Model) send(eventType string) tea.Cmd {
	var userID string
	if eventType != "user.created" {
		userID = m.selectedUser()
	}
	b := m.backend
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		return doneMsg{what: "send " + eventType, err: b.Send(ctx, eventType, userID)}
	}
}

func (m *Model) selectedUser() string {
	if m.rowsFocused && !m.inDetail() {
		return m.rows.Current()
	}
	if e := m.selected(); e != nil {
		return e.d.UserID
	}
	return ""
}

func (m *Model) scenario() tea.Cmd {
	b := m.backend
	return tea.Batch(m.status.Flash("running the "+scenarioName+" scenario…", false), func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		return doneMsg{what: "scenario " + scenarioName, ok: "the " + scenarioName + " scenario is done", err: b.Scenario(ctx, scenarioName)}
	})
}

// onSelected runs f on the selected delivery, with its exact body, inside
// the command it returns; what names the action in messages.
func (m *Model) onSelected(what string, f func(context.Context, Backend, Delivery) tea.Msg) tea.Cmd {
	e := m.selected()
	if e == nil {
		return m.status.Flash(what+": no delivery selected", true)
	}
	d, dropped, b := e.d, e.droppedBody, m.backend
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		d, err := withBody(ctx, b, d, dropped)
		if err != nil {
			return doneMsg{what: what + " " + d.SvixID, err: err}
		}
		return f(ctx, b, d)
	}
}

// act runs f (Replay or Resend) on the selected delivery.
func (m *Model) act(what string, f func(context.Context, Delivery) error) tea.Cmd {
	return m.onSelected(what, func(ctx context.Context, _ Backend, d Delivery) tea.Msg {
		return doneMsg{what: what + " " + d.SvixID, err: f(ctx, d)}
	})
}

// copyCurl puts the selected delivery on the clipboard as a curl command,
// with OSC 52, which the terminal (and tmux, with set-clipboard on)
// passes on.
func (m *Model) copyCurl() tea.Cmd {
	return m.onSelected("copy", func(_ context.Context, b Backend, d Delivery) tea.Msg {
		return tea.BatchMsg{tea.SetClipboard(b.Curl(d)), func() tea.Msg {
			// Signed now: Svix's libraries refuse a timestamp older than
			// five minutes, so the command is good for that long.
			return doneMsg{ok: "copied: curl for " + orNone(d.SvixID) + " (signed now: good for 5 min)"}
		}}
	})
}

// backfillEvery is how often the inspector asks where a backfill stands.
const backfillEvery = 2 * time.Second

// backfillMsg is where a backfill stands (run is nil: none is).
type backfillMsg struct {
	run *BackfillMsg
	err error // the reading failed: the status bar stays as it was
}

// readBackfillMsg asks for the next reading.
type readBackfillMsg struct{}

// readBackfill asks the backend where a backfill stands.
func (m *Model) readBackfill() tea.Cmd {
	b := m.backend
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		run, err := b.Backfill(ctx)
		return backfillMsg{run, err}
	}
}
