package tui

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// timedModel is the inspector with a stopwatch: it notes when the frame
// drawn after a key press is ready.
type timedModel struct {
	*Model
	mu     sync.Mutex
	sent   time.Time // when the key in flight was sent; zero when none
	seen   bool      // its Update has run: the next View is its frame
	delays []time.Duration
}

func (t *timedModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := t.Model.Update(msg)
	if _, ok := msg.(tea.KeyPressMsg); ok {
		t.mu.Lock()
		t.seen = true
		t.mu.Unlock()
	}
	return t, cmd
}

func (t *timedModel) View() tea.View {
	v := t.Model.View()
	t.mu.Lock()
	if t.seen {
		t.delays = append(t.delays, time.Since(t.sent))
		t.seen = false
	}
	t.mu.Unlock()
	return v
}

// BenchmarkKeysUnderLoad feeds the inspector 10,000 deliveries a second
// for 10 s, in the batches the receiver hands it (one every 100 ms), with
// a users table of 2,000 rows, and presses a key every 50 ms: it reports
// the time from each key to the frame that shows it.
//
//	go test -run '^$' -bench KeysUnderLoad -benchtime 1x ./tui
func BenchmarkKeysUnderLoad(b *testing.B) {
	const (
		rate     = 10_000
		duration = 10 * time.Second
		frame    = 100 * time.Millisecond
	)
	users := make([]store.User, 2000)
	for i := range users {
		users[i] = row(fmt.Sprintf("user_%027d", i), fmt.Sprintf("u%d@example.com", i), i)
	}
	fb := &fakeBackend{users: users}
	for b.Loop() {
		tm := &timedModel{Model: New(fb, testInfo)}
		p := tea.NewProgram(tm, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(200, 50),
			tea.WithColorProfile(colorprofile.TrueColor), tea.WithoutSignals())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := p.Run(); err != nil {
				b.Error(err)
			}
		}()
		stop := time.Now().Add(duration)
		go func() { // the receiver's feed
			n := 0
			for time.Now().Before(stop) {
				batch := make(DeliveriesMsg, rate*int(frame)/int(time.Second))
				for i := range batch {
					batch[i] = delivery(n, "user.updated", users[n%len(users)].ClerkID, "applied")
					n++
				}
				p.Send(batch)
				time.Sleep(frame)
			}
		}()
		for i := 0; time.Now().Before(stop); i++ {
			time.Sleep(50 * time.Millisecond)
			tm.mu.Lock()
			tm.sent, tm.seen = time.Now(), false
			tm.mu.Unlock()
			p.Send(keys([]string{"j", "k"}[i%2])[0])
		}
		p.Quit()
		<-done
		tm.mu.Lock()
		d := slices.Sorted(slices.Values(tm.delays))
		tm.mu.Unlock()
		if len(d) == 0 {
			b.Fatal("no key was answered")
		}
		ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
		b.ReportMetric(ms(d[len(d)/2]), "p50-key-ms")
		b.ReportMetric(ms(d[len(d)*99/100]), "p99-key-ms")
		b.ReportMetric(ms(d[len(d)-1]), "max-key-ms")
		b.ReportMetric(float64(len(d)), "keys")
	}
}
