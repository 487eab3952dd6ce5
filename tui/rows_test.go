package tui

import (
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

func newTestRows(w, h int) rowsModel {
	k, s := DefaultKeyMap(), DefaultStyles()
	k.setMode(modeList, true, false)
	m := newRows(&k, &s)
	m.SetSize(w, h)
	return m
}

func TestRowsView(t *testing.T) {
	soft := row(grace, "grace@example.com", 2)
	soft.DeletedAt = &t0
	users := []store.User{row(ada, "ada@example.com", 1), soft}
	states := []store.State{
		{Kind: store.KindUser, ID: ada, Version: 1}, {Kind: store.KindUser, ID: grace, Version: 2, Deleted: true},
		{Kind: store.KindUser, ID: "user_2gone", Version: 3, Deleted: true},
	}
	tests := []struct {
		name    string
		setup   func(*rowsModel)
		want    []string
		notWant []string
	}{
		{"not read yet", func(*rowsModel) {}, []string{"Reading the users table…"}, nil},
		{"empty table", func(m *rowsModel) { m.SetRows(nil, nil) }, []string{"No users yet.", "0 users"}, nil},
		{"tombstones hidden", func(m *rowsModel) { m.SetRows(users, states) },
			[]string{"1 user · 2 tombstones hidden (t shows)", "user_…Bf5C ada@example.com", "Ada Lovelace", "05-01 12:00:01"},
			[]string{"grace@example.com", "user_2gone"}},
		{"tombstones shown", func(m *rowsModel) { m.SetRows(users, states); m.ToggleTombstones() },
			[]string{"2 tombstones shown (t hides)", "grace@example.com", "† deleted", "user_2gone † tombstone: deleted, no row"}, nil},
		{"the touched row is marked", func(m *rowsModel) { m.SetRows(users, states); m.SetTouched(ada) },
			[]string{" *user_…Bf5C ada@example.com"}, nil},
		{"a missing field", func(m *rowsModel) {
			u := row(ada, "", 1)
			u.Email, u.Username = nil, nil
			m.SetRows([]store.User{u}, nil)
		}, []string{"user_…Bf5C —"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestRows(80, 8)
			tt.setup(&m)
			checkText(t, stripANSI(m.View()), tt.want, tt.notWant)
		})
	}
}

func TestRowsCursor(t *testing.T) {
	users := []store.User{row(ada, "ada@example.com", 1), row(grace, "grace@example.com", 2)}
	tests := []struct {
		keys []string
		want string
	}{
		{nil, ada},
		{[]string{"j"}, grace},
		{[]string{"j", "j", "j"}, grace},
		{[]string{"j", "k", "up"}, ada},
		{[]string{"pgdown"}, grace},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			m := newTestRows(100, 8)
			m.Focus(true)
			m.SetRows(users, nil)
			for _, k := range keys(tt.keys...) {
				m, _ = m.Update(k)
			}
			if got := m.Current(); got != tt.want {
				t.Errorf("cursor on %q, want %q", got, tt.want)
			}
			// A new reading keeps the cursor on the same user.
			m.SetRows([]store.User{row("user_2aaa", "a@example.com", 0), users[0], users[1]}, nil)
			if got := m.Current(); got != tt.want {
				t.Errorf("after a refresh the cursor is on %q, want %q", got, tt.want)
			}
			checkText(t, stripANSI(m.View()), []string{"\n> "}, nil)
		})
	}
}

func TestRowsRow(t *testing.T) {
	m := newTestRows(100, 8)
	m.SetRows([]store.User{row(ada, "ada@example.com", 1)}, nil)
	got := m.Row(ada)
	if got == nil || *got.Email != "ada@example.com" {
		t.Fatalf("Row(ada) = %+v", got)
	}
	got.ClerkID = "changed"
	if m.Row(ada) == nil {
		t.Error("Row returned the table's own row, not a copy")
	}
	if m.Row(grace) != nil {
		t.Error("Row of a user without a row is not nil")
	}
}

func TestFitWidths(t *testing.T) {
	mins, maxs := [5]int{10, 12, 8, 8, 14}, [5]int{32, 26, 24, 16, 14}
	drop, grow := []int{3, 2, 4, 1}, []int{1, 2, 0, 3}
	tests := []struct {
		avail int
		want  [5]int
	}{
		{78, [5]int{10, 26, 16, 8, 14}},
		{200, [5]int{32, 26, 24, 16, 14}},
		{56, [5]int{10, 12, 8, 8, 14}},
		{55, [5]int{10, 20, 8, 0, 14}},
		{37, [5]int{10, 26, 0, 0, 0}},
		{5, [5]int{10, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		if got := fitWidths(tt.avail, mins, maxs, drop, grow); got != tt.want {
			t.Errorf("fitWidths(%d) = %v, want %v", tt.avail, got, tt.want)
		}
	}
}

// TestRowTables: the rows pane has a table for every kind the store
// keeps, and a column can only grow or go if it is one of the five.
func TestRowTables(t *testing.T) {
	for _, k := range store.Kinds {
		tb, ok := rowTables[k]
		if !ok || tb.cells == nil {
			t.Errorf("no table of %s", k)
			continue
		}
		if c := tb.cells(&store.User{}); len(c) != len(tb.headers) {
			t.Errorf("%s: %d cells under %d headers", k, len(c), len(tb.headers))
		}
		for _, i := range append(tb.drop, tb.grow...) {
			if i < 0 || i >= len(tb.mins) {
				t.Errorf("%s: column %d in drop or grow", k, i)
			}
		}
		for i := range tb.mins {
			if tb.mins[i] > tb.maxs[i] {
				t.Errorf("%s: column %d is %d to %d columns wide", k, i, tb.mins[i], tb.maxs[i])
			}
		}
	}
}
