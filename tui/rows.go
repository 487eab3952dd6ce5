package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// rowsModel is the rows pane: the table of one kind (users,
// organizations or memberships) as the last refresh read it, the row that
// the selected event touched marked, and the tombstones of deleted
// entities when they are toggled on.
type rowsModel struct {
	keys   *KeyMap
	styles *Styles
	kind   store.Kind // whose table is shown

	users      []store.User
	deleted    map[string]bool // tombstoned user ids
	tombstones []string        // tombstoned ids without a row, in order
	tombs      int             // tombstoned users, with a row or without
	loaded     bool
	showTombs  bool
	touched    string // the user id of the selected event
	query      string // the filter (/), lower case: rows that hold it

	// Derived from the above by index, once per reading of the table and
	// not on every message: the table may hold thousands of rows.
	ls     []rowLine      // what the pane lists
	lineOf map[string]int // user id → its place in ls
	userAt map[string]int // user id → its place in users
	// rendered holds each line as last drawn, for the reading shown.
	rendered map[string]renderedRow

	cursor  int
	offset  int
	focused bool

	width, height int
	widths        [5]int // id, email, name, username, updated
}

// rowLine is one line of the pane: a row, or the tombstone of a user
// whose row is gone.
type rowLine struct {
	userID string
	user   *store.User // nil for a tombstone without a row
	tomb   bool
}

func newRows(keys *KeyMap, styles *Styles) rowsModel {
	return rowsModel{keys: keys, styles: styles, kind: store.KindUser, deleted: map[string]bool{}, rendered: map[string]renderedRow{}}
}

// SetKind shows the table of kind from its next reading on.
func (m *rowsModel) SetKind(kind store.Kind) {
	if kind == m.kind {
		return
	}
	m.kind, m.loaded, m.users, m.tombstones, m.tombs = kind, false, nil, nil, 0
	m.deleted, m.userAt = map[string]bool{}, map[string]int{}
	m.rendered = map[string]renderedRow{}
	m.cursor, m.offset = 0, 0
	m.index()
	m.SetSize(m.width, m.height) // another kind's columns
}

// SetSize lays the pane out in w columns and h lines.
func (m *rowsModel) SetSize(w, h int) {
	m.width, m.height = w, h
	t := rowTables[m.kind]
	m.widths = fitWidths(w-2, t.mins, t.maxs, t.drop, t.grow)
	m.scroll()
}

// Focus gives the pane the cursor keys.
func (m *rowsModel) Focus(on bool) { m.focused = on }

// SetRows replaces the table with a new reading of it.
func (m *rowsModel) SetRows(users []store.User, states []store.State) {
	cur := m.Current()
	m.users, m.loaded = users, true
	m.deleted = map[string]bool{}
	for _, s := range states {
		if s.Deleted {
			m.deleted[s.ID] = true
		}
	}
	has := map[string]bool{}
	m.tombs = 0
	for _, u := range users {
		has[u.ClerkID] = true
		if u.Deleted || m.deleted[u.ClerkID] {
			m.tombs++
		}
	}
	m.tombstones = m.tombstones[:0]
	for _, s := range states {
		if s.Deleted && !has[s.ID] {
			m.tombstones = append(m.tombstones, s.ID)
		}
	}
	m.tombs += len(m.tombstones)
	m.userAt = make(map[string]int, len(users))
	m.rendered = make(map[string]renderedRow, len(users))
	for i, u := range users {
		m.userAt[u.ClerkID] = i
	}
	m.index()
	m.moveTo(cur)
}

// matches reports whether any of fields holds the filter, in any case.
func (m *rowsModel) matches(fields ...string) bool {
	if m.query == "" {
		return true
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), m.query) {
			return true
		}
	}
	return false
}

// SetQuery filters the rows by q (lower case): the user id, email, name or
// username holds it.
func (m *rowsModel) SetQuery(q string) {
	if q == m.query {
		return
	}
	cur := m.Current()
	m.query = q
	m.index()
	m.moveTo(cur)
}

// index lists the lines that the pane shows and where each user is.
func (m *rowsModel) index() {
	m.ls = make([]rowLine, 0, len(m.users)+len(m.tombstones))
	for i := range m.users {
		u := &m.users[i]
		tomb := u.Deleted || m.deleted[u.ClerkID]
		if (tomb && !m.showTombs) || !m.matches(rowTables[m.kind].cells(u)...) {
			continue
		}
		m.ls = append(m.ls, rowLine{userID: u.ClerkID, user: u, tomb: tomb})
	}
	if m.showTombs {
		for _, id := range m.tombstones {
			if m.matches(id) {
				m.ls = append(m.ls, rowLine{userID: id, tomb: true})
			}
		}
	}
	m.lineOf = make(map[string]int, len(m.ls))
	for i, l := range m.ls {
		m.lineOf[l.userID] = i
	}
}

// Loaded reports whether the table was read at least once.
func (m rowsModel) Loaded() bool { return m.loaded }

// Row returns a copy of the row of user id, or nil when it has none.
func (m rowsModel) Row(id string) *store.User {
	i, ok := m.userAt[id]
	if !ok {
		return nil
	}
	u := m.users[i]
	return &u
}

// SetTouched marks the row of user id (the selected event's user) and,
// unless the pane has the cursor, scrolls to it.
func (m *rowsModel) SetTouched(id string) {
	m.touched = id
	if m.focused {
		return
	}
	if i, ok := m.lineOf[id]; ok {
		m.scrollTo(i)
	}
}

// ToggleTombstones shows or hides the deleted entities.
func (m *rowsModel) ToggleTombstones() {
	cur := m.Current()
	m.showTombs = !m.showTombs
	m.index()
	m.moveTo(cur)
}

// Current returns the user id under the cursor, or "".
func (m rowsModel) Current() string {
	if m.cursor >= 0 && m.cursor < len(m.ls) {
		return m.ls[m.cursor].userID
	}
	return ""
}

// Update moves the cursor.
func (m rowsModel) Update(msg tea.Msg) (rowsModel, tea.Cmd) {
	if delta, ok := m.keys.movement(msg, m.bodyHeight()); ok {
		m.cursor += delta
		m.scroll()
	}
	return m, nil
}

// moveTo puts the cursor on user id, if it is still shown.
func (m *rowsModel) moveTo(id string) {
	if i, ok := m.lineOf[id]; ok {
		m.cursor = i
	}
	m.scroll()
}

// scroll keeps the cursor within the lines and on screen.
func (m *rowsModel) scroll() {
	n := len(m.ls)
	m.cursor = max(0, min(m.cursor, n-1))
	m.scrollTo(m.cursor)
}

func (m *rowsModel) scrollTo(i int) {
	m.offset = scroll(m.offset, i, m.bodyHeight(), len(m.ls))
}

func (m rowsModel) bodyHeight() int { return max(0, m.height-2) }

// View renders the title, the column headers and the visible lines.
func (m rowsModel) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	ls := m.ls
	out := []string{m.title(), m.styles.Header.Render(joinColumns("  ", m.columns(nil), false))}
	switch {
	case !m.loaded:
		out = append(out, m.styles.Muted.Render("  Reading the "+m.noun()+"s table…"))
	case len(ls) == 0 && m.query != "":
		out = append(out, m.styles.Muted.Render(fmt.Sprintf("  No row matches %q (esc clears the filter).", m.query)))
	case len(ls) == 0:
		out = append(out, m.styles.Muted.Render("  No "+m.noun()+"s yet."))
	}
	for i := m.offset; i < len(ls) && i < m.offset+m.bodyHeight(); i++ {
		out = append(out, m.line(ls[i], i == m.cursor))
	}
	return block(out, m.width, m.height)
}

// noun is what one row of the pane is: user, organization, membership.
func (m rowsModel) noun() string { return string(m.kind) }

func (m rowsModel) title() string {
	name, st := " "+kindTitle(m.kind)+" ", m.styles.TitleBlurred
	if m.focused {
		name, st = "["+kindTitle(m.kind)+"]", m.styles.Title
	}
	tombs := m.tombs
	parts := []string{plural(len(m.users)+len(m.tombstones)-tombs, m.noun())}
	if m.query != "" {
		parts[0] = fmt.Sprintf("%d of %s match the filter", len(m.ls), parts[0])
	}
	switch {
	case tombs == 0:
	case m.showTombs:
		parts = append(parts, plural(tombs, "tombstone")+" shown (t hides)")
	default:
		parts = append(parts, plural(tombs, "tombstone")+" hidden (t shows)")
	}
	return st.Render(cell(name+" "+strings.Join(parts, " · "), m.width))
}

// columns lays out one line, or the headers when l is nil.
func (m rowsModel) columns(l *rowLine) []column {
	w, plain, t := m.widths, lipgloss.NewStyle(), rowTables[m.kind]
	if l == nil {
		h := t.headers
		return []column{{h[0], w[0], plain}, {h[1], w[1], plain}, {h[2], w[2], plain},
			{h[3], w[3], plain}, {"updated", w[4], plain}}
	}
	if l.user == nil {
		rest := -1 // the other columns and the gaps before them
		for _, x := range w[1:] {
			if x > 0 {
				rest += x + 1
			}
		}
		return []column{{shortID(l.userID, w[0]), w[0], plain}, {"† tombstone: deleted, no row", rest, plain}}
	}
	u := l.user
	updated := u.UpdatedAt.Format("01-02 15:04:05")
	if l.tomb {
		updated = "† deleted"
	}
	c := t.cells(u)
	cell := func(i int) string {
		if t.ids[i] {
			return shortID(c[i], w[i]) // the prefix and the tail, which tell ids apart
		}
		return orNone(c[i])
	}
	return []column{{cell(0), w[0], plain}, {cell(1), w[1], plain},
		{cell(2), w[2], plain}, {cell(3), w[3], plain}, {updated, w[4], plain}}
}

// rowTable is what the rows pane shows of one kind: four columns of
// its own, then when the row was updated.
type rowTable struct {
	headers [4]string
	// cells are a row's values under headers, which the filter searches
	// too.
	cells func(u *store.User) []string
	ids   [4]bool // the columns that hold Clerk ids
	// The smallest and largest useful widths of the five columns, the
	// order in which columns go when there is no room, and the order in
	// which they grow.
	mins, maxs [5]int
	drop, grow []int
}

// rowTables holds the rows pane's table of every kind.
var rowTables = map[store.Kind]rowTable{
	store.KindUser: {
		headers: [4]string{"user id", "email", "name", "username"},
		cells: func(u *store.User) []string {
			return []string{u.ClerkID, deref(u.Email), strings.TrimSpace(deref(u.FirstName) + " " + deref(u.LastName)), deref(u.Username)}
		},
		ids:  [4]bool{0: true},
		mins: [5]int{10, 12, 8, 8, 14}, maxs: [5]int{32, 26, 24, 16, 14},
		drop: []int{3, 2, 4, 1}, grow: []int{1, 2, 0, 3},
	},
	store.KindOrganization: {
		headers: [4]string{"org id", "name", "slug", "created by"},
		cells: func(u *store.User) []string {
			return []string{u.ClerkID, u.Other["name"], u.Other["slug"], u.Other["created_by"]}
		},
		ids:  [4]bool{0: true, 3: true},
		mins: [5]int{10, 12, 8, 8, 14}, maxs: [5]int{32, 26, 24, 32, 14},
		drop: []int{3, 2, 4, 1}, grow: []int{1, 2, 0, 3},
	},
	store.KindMembership: {
		headers: [4]string{"id", "organization", "user", "role"},
		cells: func(u *store.User) []string {
			return []string{u.ClerkID, u.Other["organization_id"], u.Other["user_id"], u.Other["role"]}
		},
		ids:  [4]bool{0: true, 1: true, 2: true},
		mins: [5]int{10, 10, 10, 10, 14}, maxs: [5]int{34, 32, 32, 12, 14},
		drop: []int{4, 1, 3}, grow: []int{3, 0, 1, 2},
	},
}

// line renders l, or returns it as last rendered when neither the row
// read nor the layout changed: the table is read once a second at most,
// and drawn every frame.
func (m rowsModel) line(l rowLine, cursor bool) string {
	key := rowKey{l.user, m.widths, m.width, cursor, m.focused, l.userID == m.touched, l.tomb}
	if c, ok := m.rendered[l.userID]; ok && c.key == key {
		return c.line
	}
	text := m.render(l, cursor)
	m.rendered[l.userID] = renderedRow{key, text}
	return text
}

// rowKey is what a rendered line depends on.
type rowKey struct {
	user                           *store.User
	widths                         [5]int
	width                          int
	cursor, focused, touched, tomb bool
}

// renderedRow is a line as last rendered, and for what.
type renderedRow struct {
	key  rowKey
	line string
}

func (m rowsModel) render(l rowLine, cursor bool) string {
	marker := []byte("  ")
	if cursor && m.focused {
		marker[0] = '>'
	}
	touched := l.userID != "" && l.userID == m.touched
	if touched {
		marker[1] = '*'
	}
	text := cell(joinColumns(string(marker), m.columns(&l), false), m.width)
	switch {
	case cursor && m.focused:
		return m.styles.Selected.Render(text)
	case touched:
		return m.styles.Touched.Render(text)
	case l.tomb:
		return m.styles.Tombstone.Render(text)
	default:
		return text
	}
}

// fitWidths shares avail columns (less one between columns) among columns
// that want between mins[i] and maxs[i]: the columns in drop go, in that
// order, while even their smallest widths do not fit; then those in grow
// widen, in that order. A dropped column has width 0.
func fitWidths(avail int, mins, maxs [5]int, drop, grow []int) [5]int {
	w := mins
	need := func() int {
		n, cols := 0, 0
		for _, x := range w {
			if x > 0 {
				n, cols = n+x, cols+1
			}
		}
		return n + max(0, cols-1)
	}
	for _, i := range drop {
		if need() <= avail {
			break
		}
		w[i] = 0
	}
	for _, i := range grow {
		if w[i] == 0 {
			continue
		}
		add := min(maxs[i]-w[i], avail-need())
		if add > 0 {
			w[i] += add
		}
	}
	return w
}

// plural is n and what, in the plural unless n is 1: "2 users", "3
// deliveries".
func plural(n int, what string) string {
	switch {
	case n == 1:
		return "1 " + what
	case strings.HasSuffix(what, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(what, "y"))
	default:
		return fmt.Sprintf("%d %ss", n, what)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
