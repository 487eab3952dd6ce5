package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// bodied is delivery n with a body of 2–8 KiB, as a user.updated with
// some metadata has: one user in ten is named LoveLace, at the end of the
// body, where a filter finds it last.
func bodied(n int) Delivery {
	d := delivery(n, "user.updated", fmt.Sprintf("user_%027d", n), "applied")
	d.SvixID = fmt.Sprintf("msg_%027d", n)
	name := "Hopper"
	if n%10 == 0 {
		name = "LoveLace"
	}
	var meta strings.Builder
	for i := 0; meta.Len() < 2<<10+n*997%(6<<10); i++ {
		fmt.Fprintf(&meta, `"Key_%d":"Value %d of the User's Public Metadata",`, i, i*n)
	}
	d.Body = fmt.Appendf(nil, `{"data":{"id":%q,"public_metadata":{%s"n":%d},"last_name":%q},"object":"event","type":"user.updated"}`,
		d.UserID, meta.String(), n, name)
	return d
}

// BenchmarkFilteredFrame is one frame of the inspector under a stream of
// deliveries while a filter that looks into the bodies is in effect: a
// delivery arrives (its Update) and the screen is drawn (View), with the
// ring full of 1,000 deliveries of 2–8 KiB bodies.
//
//	go test -run '^$' -bench FilteredFrame -benchmem -count 3 ./tui
func BenchmarkFilteredFrame(b *testing.B) {
	m := newTestModel(b, &fakeBackend{})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	for n := range ringSize {
		m.Update(DeliveriesMsg{bodied(n)}) // the rows' reads are not this benchmark's
	}
	send(m, keys("/", "lovelace", "enter")...)
	if !strings.Contains(screen(m), "100 of 1000 deliveries") {
		b.Fatalf("the filter does not show 100 deliveries:\n%s", screen(m))
	}
	next := make([]Delivery, 1000) // made before the clock runs
	for i := range next {
		next[i] = bodied(ringSize + i)
	}
	i := 0
	for b.Loop() {
		m.Update(DeliveriesMsg{next[i%len(next)]})
		m.View()
		i++
	}
}

// The filtered list is kept between frames: it must change with what it
// depends on, the filter and the entries kept, and with nothing else.
func TestFilteredListFollowsChanges(t *testing.T) {
	m := newTestEvents(100, 10)
	m.limit = 5
	add := func(n int, word string) {
		d := numbered(n)
		d.Body = fmt.Appendf(nil, `{"note":%q}`, word)
		m.Add(&entry{d: d})
	}
	check := func(when, want, count string) {
		t.Helper()
		view := stripANSI(m.View()) // asks for the list, as a frame does
		if got := ids(m); got != want {
			t.Errorf("%s: shown %q, want %q", when, got, want)
		}
		checkText(t, view, []string{count}, nil)
	}
	add(1, "Apple")
	add(2, "pear")
	add(3, "APPLE")
	m.SetFilter("apple")
	check("filtered", "[m3] m1", "2 of 3 deliveries")
	add(4, "apple pie")
	check("a matching delivery arrived", "[m4] m3 m1", "3 of 4 deliveries")
	add(5, "Pear")
	check("another delivery arrived", "[m4] m3 m1", "3 of 5 deliveries")
	m.SetFilter("pear")
	check("the filter changed", "[m5] m2", "2 of 5 deliveries")
	add(6, "pear")
	check("m1 left the ring", "[m6] m5 m2", "3 of 5 deliveries")
	add(7, "plum")
	check("m2 left the ring", "[m6] m5", "2 of 5 deliveries")
	m.AddOlder([]Delivery{func() Delivery {
		d := numbered(0)
		d.Body = []byte(`{"note":"PEAR"}`)
		return d
	}()})
	check("an older delivery was loaded", "[m6] m5 m0", "3 of 6 deliveries")
	m.SetFilter("apple")
	check("back to the first filter", "[m4] m3", "2 of 6 deliveries")
	m.ClearFilter()
	check("the filter was cleared", "m7 m6 m5 [m4] m3 m0", "6 deliveries")
}
