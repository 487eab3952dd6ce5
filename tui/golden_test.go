package tui

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// TestGolden runs the inspector in a teatest program with the ASCII
// colour profile (no colour, as with NO_COLOR) and compares its final
// screen with testdata/TestGolden/*.golden. Refresh them with
// go test ./tui -update.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		play func(g *goldenRun)
	}{
		{"empty_100x30", 100, 30, nil},
		{"empty_80x24", 80, 24, nil},
		{"lifecycle", 100, 30, func(g *goldenRun) { g.arrive(lifecycle(g.b)...) }},
		{"forgery", 100, 30, func(g *goldenRun) {
			g.arrive(lifecycle(g.b)[0], func() tea.Msg { return DeliveriesMsg{forgery(3)} })
		}},
		{"detail", 100, 30, func(g *goldenRun) {
			g.arrive(lifecycle(g.b)...)
			g.press("j", "enter") // the update
		}},
		{"filter", 100, 30, func(g *goldenRun) {
			g.arrive(deliveries(g.b)...)
			g.press("/", "upd", "enter")
		}},
		{"resize_80x24", 100, 30, func(g *goldenRun) {
			g.arrive(lifecycle(g.b)...)
			g.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
		}},
		{"wide_160x30", 160, 30, func(g *goldenRun) {
			g.arrive(deliveries(g.b)...)
			g.press("j", "t") // the deletion, and the tombstone it left
		}},
	}
	// Each view at the smallest supported terminal and at a wide one.
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		w, h := size[0], size[1]
		name := fmt.Sprintf("_%dx%d", w, h)
		tests = append(tests, []struct {
			name string
			w, h int
			play func(g *goldenRun)
		}{
			{"events" + name, w, h, func(g *goldenRun) { g.arrive(deliveries(g.b)...) }},
			{"rows" + name, w, h, func(g *goldenRun) {
				g.arrive(rowsOfTwo(g.b)...)
				g.press("tab", "j")
			}},
			{"detail" + name, w, h, func(g *goldenRun) {
				g.arrive(lifecycle(g.b)...)
				g.press("j", "enter")
			}},
			{"help" + name, w, h, func(g *goldenRun) { g.press("?") }},
		}...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startGolden(t, tt.w, tt.h)
			if tt.play != nil {
				tt.play(g)
			}
			g.requireGolden()
		})
	}
}

// goldenRun is the inspector running in a teatest program.
type goldenRun struct {
	t    *testing.T
	tm   *teatest.TestModel
	b    *fakeBackend
	rows chan struct{} // one value per reading of the rows that the program takes in
}

func startGolden(t *testing.T, w, h int) *goldenRun {
	g := &goldenRun{t: t, b: &fakeBackend{}, rows: make(chan struct{}, 16)}
	// The filter sees each message just before the model does: once a
	// reading of the rows has passed it, what the test sends next comes
	// after that reading.
	seeRows := func(_ tea.Model, msg tea.Msg) tea.Msg {
		if _, ok := msg.(rowsMsg); ok {
			g.rows <- struct{}{}
		}
		return msg
	}
	m := New(g.b, testInfo)
	m.rowsEvery = 0 // the throttle has a test of its own
	g.tm = teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII), tea.WithFilter(seeRows)))
	teatest.WaitFor(t, g.tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Events]")) },
		teatest.WithDuration(5*time.Second))
	g.waitRows()
	return g
}

// arrive sends deliveries one at a time, each after the reading of the
// rows that the previous one asked for.
func (g *goldenRun) arrive(fs ...func() tea.Msg) {
	for _, f := range fs {
		msg := f()
		g.tm.Send(msg)
		if ds, ok := msg.(DeliveriesMsg); ok && slices.ContainsFunc(ds, func(d Delivery) bool { return d.Outcome == "applied" }) {
			g.waitRows()
		}
	}
}

func (g *goldenRun) press(names ...string) {
	for _, k := range keys(names...) {
		g.tm.Send(k)
	}
}

func (g *goldenRun) waitRows() {
	g.t.Helper()
	select {
	case <-g.rows:
	case <-time.After(5 * time.Second):
		g.t.Fatal("the rows were not read")
	}
}

// requireGolden quits and compares the last screen, as the ASCII profile
// writes it, with the golden file.
func (g *goldenRun) requireGolden() {
	g.t.Helper()
	if err := g.tm.Quit(); err != nil {
		g.t.Fatal(err)
	}
	m := g.tm.FinalModel(g.t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	var out bytes.Buffer
	w := &colorprofile.Writer{Forward: &out, Profile: colorprofile.ASCII}
	if _, err := w.WriteString(m.View().Content); err != nil {
		g.t.Fatal(err)
	}
	teatest.RequireEqualOutput(g.t, out.Bytes())
}
