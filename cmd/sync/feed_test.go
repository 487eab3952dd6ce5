package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

// An inspector that does not take its messages holds up no handler:
// reports wait in one batch, refused ones beyond the batch's share are
// dropped at once, and once the inspector takes again the verified
// deliveries come in one message, not one each.
func TestFeedNeverHoldsUpTheHandlers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	got := make(chan tui.DeliveriesMsg, 100)
	fd := newFeed(ctx, slog.New(slog.DiscardHandler), func(m tea.Msg) {
		<-release // the inspector is busy
		got <- m.(tui.DeliveriesMsg)
	})
	done := make(chan struct{})
	go func() {
		fd.report(webhook.Report{SvixID: "msg_first", Verified: true})
		time.Sleep(50 * time.Millisecond) // the drain now waits on the busy inspector
		for range 100 {
			fd.report(webhook.Report{SvixID: "msg_forged"})
			fd.report(webhook.Report{SvixID: "msg_real", Verified: true})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a busy inspector held up the handlers")
	}
	if n := fd.dropped.Load(); n != 100-feedRefused {
		t.Errorf("%d refused reports dropped, want %d", n, 100-feedRefused)
	}
	close(release)
	if first := <-got; len(first) != 1 || first[0].SvixID != "msg_first" {
		t.Fatalf("first message %v, want msg_first alone", first)
	}
	batch := <-got
	real, forged := 0, 0
	for _, r := range batch {
		if r.Verified {
			real++
		} else {
			forged++
		}
	}
	if real != 100 || forged != feedRefused {
		t.Errorf("second message: %d verified and %d refused, want 100 and %d", real, forged, feedRefused)
	}
}

// A batch that the inspector does not take holds at most feedBytes of
// bodies: beyond that, reports are dropped and counted.
func TestFeedBoundsItsBytes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	fd := newFeed(ctx, slog.New(slog.DiscardHandler), func(tea.Msg) { <-release })
	fd.report(webhook.Report{Verified: true}) // the drain now waits on the busy inspector
	time.Sleep(50 * time.Millisecond)
	body := make([]byte, 1<<20)
	for range 20 {
		fd.report(webhook.Report{Verified: true, Body: body})
	}
	fd.mu.Lock()
	held, n := fd.bytes, len(fd.pending)
	fd.mu.Unlock()
	if held > feedBytes || n != feedBytes/len(body) || fd.dropped.Load() != int64(20-n) {
		t.Errorf("%d bytes in %d reports held, %d dropped; want at most %d bytes", held, n, fd.dropped.Load(), feedBytes)
	}
}
