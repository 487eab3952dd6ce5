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

// An inspector that falls behind a flood of refused requests does not hold
// up the handlers: refused reports beyond the queue are dropped at once,
// and a verified delivery still reaches the inspector.
func TestFeedDropsRefusedReportsWhenTheInspectorIsBehind(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	got := make(chan webhook.Report, 100)
	fd := newFeed(ctx, slog.New(slog.DiscardHandler), func(m tea.Msg) {
		r := m.(tui.DeliveryMsg).Delivery
		if !r.Verified {
			<-release // the inspector is busy
		}
		got <- r
	})
	done := make(chan struct{})
	go func() {
		for range 100 {
			fd.report(webhook.Report{SvixID: "msg_forged"})
		}
		fd.report(webhook.Report{SvixID: "msg_real", Verified: true})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a flood of refused requests held up the handlers")
	}
	if r := <-got; r.SvixID != "msg_real" {
		t.Fatalf("the inspector got %s first, want the verified delivery", r.SvixID)
	}
	if n := fd.dropped.Load(); n < 100-feedQueue-1 {
		t.Fatalf("%d refused reports dropped, want at least %d", n, 100-feedQueue-1)
	}
	close(release)
}
