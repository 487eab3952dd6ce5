package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// none stands for a value that is not known, such as the HTTP status of a
// delivery loaded from the ledger.
const none = "—"

// cell fits plain text s in exactly w columns: cut with an ellipsis, or
// padded with spaces.
func cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = ansi.Truncate(s, w, "…")
	return s + strings.Repeat(" ", w-ansi.StringWidth(s))
}

// shortID fits an id such as user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C in w
// columns: its prefix, an ellipsis and its end (user_…Bf5C), since ids of
// the same time begin alike. It is none when id is empty.
func shortID(id string, w int) string {
	if id == "" {
		return none
	}
	if ansi.StringWidth(id) <= w {
		return id
	}
	prefix, _, ok := strings.Cut(id, "_")
	if r, tail := []rune(id), w-ansi.StringWidth(prefix)-2; ok && tail >= 3 && len(r) == len(id) {
		return prefix + "_…" + string(r[len(r)-tail:])
	}
	return ansi.Truncate(id, w, "…")
}

// fit cuts a styled line to w columns, with an ellipsis, and pads it to w.
func fit(line string, w int) string {
	line = ansi.Truncate(line, w, "…")
	return line + strings.Repeat(" ", max(0, w-lipgloss.Width(line)))
}

// block fits lines in w columns and h lines, padding with blank lines. A
// line may hold several, separated by newlines.
func block(lines []string, w, h int) string {
	lines = strings.Split(strings.Join(lines, "\n"), "\n")
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", max(0, w))
		}
	}
	return strings.Join(out, "\n")
}

// latency is a duration in at most five columns: 850µs, 1.2ms, 12ms, 1.2s.
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return none
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 9950*time.Microsecond: // below what %.1f rounds to 10.0
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < 999500*time.Microsecond: // below what %.0f rounds to 1000
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

// status is an HTTP status code, or none when it is not known.
func status(code int) string {
	if code == 0 {
		return none
	}
	return fmt.Sprint(code)
}

// clock is the time of day of t, in t's own location.
func clock(t time.Time) string {
	if t.IsZero() {
		return strings.Repeat(" ", 8)
	}
	return t.Format("15:04:05")
}

// wrapLines wraps each line at its words to w columns; only a word wider
// than w is broken.
func wrapLines(lines []string, w int) []string {
	if w <= 0 {
		return lines
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.Split(ansi.Wrap(l, w, ""), "\n")...)
	}
	return out
}

// cutStart fits s in w columns by cutting its start: …/clerk-sync.log.
// The end of a path or URL says more than its beginning.
func cutStart(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	if w <= 1 {
		return ansi.Truncate(s, w, "")
	}
	r := []rune(s)
	for len(r) > 0 && ansi.StringWidth(string(r))+1 > w {
		r = r[1:]
	}
	tail := string(r)
	if i := strings.IndexByte(tail, '/'); i > 0 && i < len(tail)-1 { // at a whole name
		tail = tail[i:]
	}
	return "…" + tail
}
