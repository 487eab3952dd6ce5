package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles is every style of the inspector. Colour only adds to what the
// text already says (markers, brackets, reverse video), so that the
// inspector reads the same without colour (NO_COLOR, the ASCII profile).
// The colours are the terminal's 16 ANSI colours, which its theme already
// suits to a light or dark background.
type Styles struct {
	Title        lipgloss.Style // the focused pane's title bar
	TitleBlurred lipgloss.Style // another pane's title bar
	Header       lipgloss.Style // column headers
	Selected     lipgloss.Style // the cursor line of the focused pane
	SelectedDim  lipgloss.Style // the cursor line of another pane
	Touched      lipgloss.Style // the row the selected event touched
	Tombstone    lipgloss.Style // a deleted user
	Muted        lipgloss.Style // placeholders and secondary text
	Label        lipgloss.Style // "listen", "db"… in the status bar
	Section      lipgloss.Style // a heading of the detail view
	Verified     lipgloss.Style // ✓
	Unverified   lipgloss.Style // ✗
	Added        lipgloss.Style // "+ new" lines of a diff
	Removed      lipgloss.Style // "- old" lines of a diff
	Flash        lipgloss.Style // a passing message
	FlashError   lipgloss.Style // an error from a command
	Outcome      map[string]lipgloss.Style
	Help         help.Styles
}

// DefaultStyles returns the inspector's styles.
func DefaultStyles() Styles {
	s := lipgloss.NewStyle
	green, yellow, red, cyan := lipgloss.Color("2"), lipgloss.Color("3"), lipgloss.Color("1"), lipgloss.Color("6")
	return Styles{
		Title:        s().Bold(true).Reverse(true),
		TitleBlurred: s().Bold(true),
		Header:       s().Faint(true),
		Selected:     s().Reverse(true),
		SelectedDim:  s().Bold(true),
		Touched:      s().Bold(true).Foreground(cyan),
		Tombstone:    s().Faint(true).Strikethrough(true),
		Muted:        s().Faint(true),
		Label:        s().Faint(true),
		Section:      s().Bold(true),
		Verified:     s().Foreground(green),
		Unverified:   s().Foreground(red).Bold(true),
		Added:        s().Foreground(green),
		Removed:      s().Foreground(red),
		Flash:        s().Bold(true),
		FlashError:   s().Bold(true).Foreground(red),
		Outcome: map[string]lipgloss.Style{
			"applied":   s().Foreground(green),
			"duplicate": s().Foreground(yellow),
			"stale":     s().Foreground(yellow),
			"ignored":   s().Faint(true),
			"rejected":  s().Foreground(red).Bold(true),
			"failed":    s().Foreground(red).Bold(true),
			"forwarded": s().Foreground(cyan),
		},
		Help: help.Styles{
			Ellipsis:       s().Faint(true),
			ShortKey:       s().Bold(true),
			ShortDesc:      s(),
			ShortSeparator: s().Faint(true),
			FullKey:        s().Bold(true),
			FullDesc:       s(),
			FullSeparator:  s().Faint(true),
		},
	}
}
