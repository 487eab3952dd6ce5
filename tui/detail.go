package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// detailModel is one delivery in full: its request headers, its body as
// indented JSON, the answer, and the row before → after, in a viewport
// that scrolls.
type detailModel struct {
	keys   *KeyMap
	styles *Styles
	e      *entry
	vp     viewport.Model
	width  int
	height int
	// columns names the columns of each kind's table (Info.Columns,
	// Info.KindColumns), the default mapping's where info has none.
	columns map[store.Kind]map[string]string
	info    Info
	// body is e's body read from the ledger when the events pane did not
	// keep it, or why it could not be read; both go with e.
	body    []byte
	bodyErr error
}

// newDetail is the detail view of the receiver that info describes.
func newDetail(keys *KeyMap, styles *Styles, info Info) detailModel {
	def := mapping.Default()
	columns := map[store.Kind]map[string]string{store.KindUser: info.Columns}
	if info.Columns == nil {
		columns[store.KindUser] = def.ColumnNames()
	}
	for k, c := range info.KindColumns {
		columns[k] = c
	}
	for _, k := range store.Kinds {
		if d, ok := def.For(k); ok && columns[k] == nil {
			columns[k] = d.ColumnNames()
		}
	}
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{
		Up:           keys.Up,
		Down:         keys.Down,
		PageUp:       keys.PageUp,
		PageDown:     keys.PageDown,
		HalfPageUp:   key.NewBinding(key.WithKeys("ctrl+u")),
		HalfPageDown: key.NewBinding(key.WithKeys("ctrl+d")),
	}
	vp.SoftWrap = false // wrapLines has wrapped the lines at their words
	vp.MouseWheelEnabled = false
	return detailModel{keys: keys, styles: styles, vp: vp, columns: columns, info: info}
}

// SetSize lays the view out in w columns and h lines.
func (m *detailModel) SetSize(w, h int) {
	m.width, m.height = w, h
	m.vp.SetWidth(w)
	m.vp.SetHeight(max(0, h-1))
	m.Refresh()
}

// Show shows e from the top.
func (m *detailModel) Show(e *entry) {
	m.e, m.body, m.bodyErr = e, nil, nil
	m.Refresh()
	m.vp.GotoTop()
}

// SetBody shows the body read from the ledger, if it is still e's turn.
func (m *detailModel) SetBody(msg bodyMsg) {
	if msg.e != m.e {
		return
	}
	m.body, m.bodyErr = msg.body, msg.err
	m.Refresh()
}

// Entry returns the delivery shown, or nil.
func (m detailModel) Entry() *entry { return m.e }

// Refresh renders the entry again, e.g. once its row after is known.
func (m *detailModel) Refresh() {
	if m.e != nil {
		m.vp.SetContentLines(wrapLines(m.content(), m.width))
	}
}

// Update scrolls.
func (m detailModel) Update(msg tea.Msg) (detailModel, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.Top):
			m.vp.GotoTop()
			return m, nil
		case key.Matches(k, m.keys.Bottom):
			m.vp.GotoBottom()
			return m, nil
		}
	}
	var cmd tea.Cmd
	m.vp, cmd = m.vp.Update(msg)
	return m, cmd
}

// View renders the title and the scrolled content.
func (m detailModel) View() string {
	if m.e == nil || m.width <= 0 || m.height <= 0 {
		return ""
	}
	title := fmt.Sprintf("[Delivery] %s · %d%% · esc back · ↑/↓ g/G scroll", orNone(m.e.d.SvixID), int(m.vp.ScrollPercent()*100))
	return block([]string{m.styles.Title.Render(cell(title, m.width)), m.vp.View()}, m.width, m.height)
}

// content is the lines of the view.
func (m detailModel) content() []string {
	s, e, d := m.styles, m.e, m.e.d
	ver := s.Verified.Render("✓ verified")
	if !d.Verified {
		ver = s.Unverified.Render("✗ not verified")
	}
	lines := []string{strings.Join([]string{
		clock(d.Received), orNone(d.EventType), entityLabel(d), ver,
		s.Outcome[d.Outcome].Render(orNone(d.Outcome)), "HTTP " + status(d.Status), latency(d.Latency),
	}, "  ")}
	if why := joinNonEmpty(": ", d.Reason, d.Error); why != "" {
		lines = append(lines, s.Outcome[d.Outcome].Render(printable(why)))
	}
	if d.Reason == webhook.ReasonBadSignature {
		lines = append(lines, m.badSignature()...)
	}

	lines = append(lines, "", s.Section.Render("Row before → after"))
	switch e.diff {
	case diffNone:
		why := "no change: the outcome was " + orNone(d.Outcome)
		if e.ledger {
			why = "not known: loaded from the ledger"
		}
		lines = append(lines, s.Muted.Render("  "+why))
	case diffPending:
		lines = append(lines, s.Muted.Render("  reading the rows…"))
	case diffNoRowsYet:
		lines = append(lines, s.Muted.Render("  not known: it arrived before the rows were first read"))
	case diffOtherTable:
		lines = append(lines, s.Muted.Render("  not known: it arrived while the rows pane showed another table"))
	case diffDone:
		lines = append(lines, m.diff(e.before, e.after)...)
	}

	lines = append(lines, "", s.Section.Render("Response "+status(d.Status)))
	switch {
	case e.ledger:
		lines = append(lines, s.Muted.Render("  not kept: loaded from the ledger"))
	case e.droppedResponse > 0:
		lines = append(lines, s.Muted.Render(fmt.Sprintf("  not kept: %s, larger than the %s the inspector keeps", plural(e.droppedResponse, "byte"), plural(keepBytes, "byte"))))
	default:
		lines = append(lines, pretty(d.Response)...)
	}

	if len(d.AppHeader) > 0 {
		lines = append(lines, "", s.Section.Render("The app's response headers"))
		lines = append(lines, headerLines(s, d.AppHeader)...)
	}

	lines = append(lines, "", s.Section.Render("Request headers"))
	switch {
	case e.ledger:
		lines = append(lines, s.Muted.Render("  not kept: loaded from the ledger"))
	case len(d.Header) == 0:
		lines = append(lines, s.Muted.Render("  none"))
	}
	lines = append(lines, headerLines(s, d.Header)...)

	lines = append(lines, "", s.Section.Render(fmt.Sprintf("Body (%d bytes)", e.bodySize())))
	switch {
	case !e.bodyDropped():
		lines = append(lines, pretty(d.Body)...)
	case m.bodyErr != nil:
		lines = append(lines, s.Muted.Render(fmt.Sprintf("  not kept (larger than %s), and not in the ledger: %s", plural(keepBytes, "byte"), printable(m.bodyErr.Error()))))
	case m.body == nil:
		lines = append(lines, s.Muted.Render("  reading it from the ledger…"))
	default:
		lines = append(lines, pretty(m.body)...)
	}

	return lines
}

// headerLines lists h, sorted by name.
func headerLines(s *Styles, h map[string][]string) []string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			lines = append(lines, "  "+s.Label.Render(k+":")+" "+printable(v))
		}
	}
	return lines
}

// badSignature says which secret checked a delivery refused as
// bad-signature, and what usually causes one.
func (m detailModel) badSignature() []string {
	s := m.styles
	made := "not generated on this machine"
	if m.info.LocalSecret {
		made = "generated on this machine (mockclerk secret): the real Clerk cannot know it; use the Signing Secret Clerk's Dashboard shows for the endpoint"
	}
	from := ""
	if m.info.SecretSource != "" {
		from = " from " + m.info.SecretSource
	}
	lines := []string{"", s.Section.Render("Why bad-signature?"),
		fmt.Sprintf("  Checked with the secret %s%s, %s.", orNone(m.info.Fingerprint), from, made), "  Usually one of:"}
	for _, c := range webhook.BadSignatureCauses {
		lines = append(lines, "  - "+c)
	}
	return lines
}

// entityLabel names what d is about: "user user_…", "organization org_…",
// "membership orgmem_… of user user_…".
func entityLabel(d Delivery) string {
	kind, id := kindOf(d), entityOf(d)
	label := string(kind) + " " + orNone(id)
	if kind == store.KindMembership && d.UserID != "" {
		label += " of user " + d.UserID
	}
	return label
}

// diff shows a row before and after a delivery, field by field: "- old"
// and "+ new" for a change, the value alone when it stayed.
func (m detailModel) diff(before, after *store.User) []string {
	s := m.styles
	switch {
	case before == nil && after == nil:
		return []string{s.Muted.Render("  (no row) → (no row)")}
	case before == nil:
		out := []string{s.Removed.Render("  - (no row)")}
		for _, f := range m.rowFields(after) {
			out = append(out, s.Added.Render("  + "+f.name+": "+f.value))
		}
		return out
	case after == nil:
		var out []string
		for _, f := range m.rowFields(before) {
			out = append(out, s.Removed.Render("  - "+f.name+": "+f.value))
		}
		return append(out, s.Added.Render("  + (no row)"))
	}
	// Fields that a mapping writes may be missing on one side (NULL).
	var (
		out   []string
		names []string
		old   = map[string]string{}
		cur   = map[string]string{}
	)
	for _, f := range m.rowFields(before) {
		names, old[f.name] = append(names, f.name), f.value
	}
	for _, f := range m.rowFields(after) {
		if _, ok := old[f.name]; !ok {
			names = append(names, f.name)
		}
		cur[f.name] = f.value
	}
	for _, name := range names {
		o, had := old[name]
		c, has := cur[name]
		if !had {
			o = "null"
		}
		if !has {
			c = "null"
		}
		if o == c {
			out = append(out, "    "+name+": "+o)
		} else {
			out = append(out, s.Removed.Render("  - "+name+": "+o), s.Added.Render("  + "+name+": "+c))
		}
	}
	return out
}

type field struct{ name, value string }

// rowFields is a row as the columns of its table, under their names in
// that table: the table of the shown delivery's kind.
func (m detailModel) rowFields(u *store.User) []field {
	columns := m.columns[kindOf(m.e.d)]
	t := func(t time.Time) string { return t.Format("2006-01-02 15:04:05.000") }
	deleted := none
	switch {
	case u.DeletedAt != nil:
		deleted = t(*u.DeletedAt)
	case u.Deleted:
		deleted = "true"
	}
	opt := func(s *string) string {
		if s == nil {
			return "null"
		}
		return fmt.Sprintf("%q", *s)
	}
	fields := []field{{columns["id"], u.ID}, {columns["key"], u.ClerkID}}
	for _, f := range []struct{ field, value string }{
		{"email", opt(u.Email)}, {"first_name", opt(u.FirstName)}, {"last_name", opt(u.LastName)},
		{"username", opt(u.Username)}, {"image_url", opt(u.ImageURL)}, {"created_at", t(u.CreatedAt)},
		{"updated_at", t(u.UpdatedAt)}, {"deleted", deleted},
	} {
		if c := columns[f.field]; c != "" { // only the columns the mapping has
			fields = append(fields, field{c, f.value})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(u.Other)) {
		name := columns[k]
		if name == "" {
			name = k
		}
		fields = append(fields, field{name, u.Other[k]})
	}
	return fields
}

// pretty indents a JSON body, or shows it as it is when it is not JSON.
func pretty(b []byte) []string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return []string{"  (empty)"}
	}
	var buf bytes.Buffer
	text := string(b)
	if json.Indent(&buf, b, "", "  ") == nil {
		text = buf.String()
	}
	lines := strings.Split(printable(text), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return lines
}

// printable keeps control characters of outside input (a forged body, a
// header) from reaching the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return '·'
		}
		return r
	}, strings.ToValidUTF8(s, "�"))
}

func joinNonEmpty(sep string, ss ...string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
