package tui

import (
	"math"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// KeyMap is every key binding of the inspector. The help line and the
// full help (?) are rendered from it by bubbles/help, and bindings that do
// nothing in the current view are disabled so that help shows only what
// works.
type KeyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Open     key.Binding
	Back     key.Binding
	Switch   key.Binding
	Filter   key.Binding
	Apply    key.Binding // accepts the filter being typed
	Clear    key.Binding // abandons the filter being typed

	Create     key.Binding
	Update     key.Binding
	Delete     key.Binding
	Scenario   key.Binding
	Replay     key.Binding
	Resend     key.Binding
	Edit       key.Binding
	Copy       key.Binding
	Older      key.Binding
	Tombstones key.Binding
	Table      key.Binding // the rows pane's table: users, organizations, memberships

	Help key.Binding
	Quit key.Binding

	helpOpen bool // the help screen is shown: the short help is how to leave it
}

// DefaultKeyMap returns the inspector's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "bottom")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Switch:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "pane")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Apply:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		Clear:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),

		Create:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "send user.created")),
		Update:     key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "send user.updated")),
		Delete:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "send user.deleted")),
		Scenario:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "out-of-order")),
		Replay:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "replay")),
		Resend:     key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "new svix-id")),
		Edit:       key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit, new id")),
		Copy:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "curl")),
		Older:      key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "older")),
		Tombstones: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tombstones")),
		Table:      key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "table")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line help of the status bar.
func (k KeyMap) ShortHelp() []key.Binding {
	if k.helpOpen {
		return []key.Binding{k.Help, k.Back, k.Quit}
	}
	return []key.Binding{k.Help, k.Apply, k.Clear, k.Back, k.Open, k.Switch, k.Filter,
		k.sendHelp(), k.Replay, k.Copy, k.Quit}
}

// FullHelp is the help screen (?), one column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Open, k.Back, k.Switch},
		{k.Filter, k.Apply, k.Clear, k.Older, k.Tombstones, k.Table},
		{k.Create, k.Update, k.Delete, k.Scenario},
		{k.Replay, k.Resend, k.Edit, k.Copy, k.Help, k.Quit},
	}
}

// sendHelp stands for c, u and d in the short help, where there is no room
// for three entries.
func (k KeyMap) sendHelp() key.Binding {
	b := key.NewBinding(key.WithKeys("c", "u", "d"), key.WithHelp("c/u/d", "send"))
	b.SetEnabled(k.Create.Enabled())
	return b
}

// mode is what has the keyboard: it decides which bindings are enabled.
type mode int

const (
	modeList   mode = iota // the events and rows panes
	modeDetail             // one delivery
	modeFilter             // typing a filter
	modeHelp               // the full help
)

// setMode enables the bindings that work in md and disables the others.
// filtered says that a filter is applied, which esc clears.
func (k *KeyMap) setMode(md mode, rowsFocused, filtered bool) {
	k.helpOpen = md == modeHelp
	if k.helpOpen { // the help screen lists every key; only ?, esc and q work there
		for _, b := range k.all() {
			b.SetEnabled(true)
		}
		return
	}
	list, detail, typing := md == modeList, md == modeDetail, md == modeFilter
	for _, b := range []*key.Binding{&k.Create, &k.Update, &k.Delete, &k.Scenario, &k.Replay, &k.Resend, &k.Edit, &k.Copy, &k.Help, &k.Quit} {
		b.SetEnabled(!typing)
	}
	k.Up.SetEnabled(list || detail)
	k.Down.SetEnabled(list || detail)
	k.PageUp.SetEnabled(list || detail)
	k.PageDown.SetEnabled(list || detail)
	k.Top.SetEnabled(list || detail)
	k.Bottom.SetEnabled(list || detail)
	k.Open.SetEnabled(list)
	k.Open.SetHelp("enter", "detail")
	if rowsFocused {
		k.Open.SetHelp("enter", "deliveries")
	}
	k.Back.SetEnabled(detail)
	k.Switch.SetEnabled(list)
	k.Filter.SetEnabled(list)
	k.Older.SetEnabled(list)
	k.Tombstones.SetEnabled(list)
	k.Table.SetEnabled(list)
	k.Apply.SetEnabled(typing)
	k.Clear.SetEnabled(typing || (list && filtered))
}

func (k *KeyMap) all() []*key.Binding {
	return []*key.Binding{&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Top, &k.Bottom, &k.Open, &k.Back, &k.Switch,
		&k.Filter, &k.Apply, &k.Clear, &k.Create, &k.Update, &k.Delete, &k.Scenario, &k.Replay,
		&k.Resend, &k.Edit, &k.Copy, &k.Older, &k.Tombstones, &k.Table, &k.Help, &k.Quit}
}

// movement is how many lines msg moves a cursor in a list whose body is
// h lines high: ±1 for up and down, about a page for page up and down.
func (k KeyMap) movement(msg tea.Msg, h int) (int, bool) {
	press, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return 0, false
	}
	page := max(1, h-1)
	switch {
	case key.Matches(press, k.Up):
		return -1, true
	case key.Matches(press, k.Down):
		return 1, true
	case key.Matches(press, k.PageUp):
		return -page, true
	case key.Matches(press, k.PageDown):
		return page, true
	case key.Matches(press, k.Top):
		return math.MinInt / 2, true
	case key.Matches(press, k.Bottom):
		return math.MaxInt / 2, true
	}
	return 0, false
}
