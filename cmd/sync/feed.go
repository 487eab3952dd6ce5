package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

// feed hands the inspector the receiver's reports without ever making a
// handler wait for the screen: a handler only appends its report to a
// batch, and one goroutine hands the batch over, at most once a feedFrame.
// The inspector takes one message at a time and draws after each, so a
// message per delivery would put the screen on the delivery path.
type feed struct {
	send func(tea.Msg)
	wake chan struct{} // a report waits; capacity 1

	mu      sync.Mutex
	pending []webhook.Report
	refused int // refused reports in pending
	bytes   int // of the bodies and answers in pending
	dropped atomic.Int64
}

const (
	// feedFrame is the least time between two batches: ten a second
	// look live, and leave the inspector, which draws after each
	// message, time to spare.
	feedFrame = 100 * time.Millisecond
	// feedRefused bounds the refused requests in one batch: each may hold
	// a body of up to --max-body beyond the handler's budget, and a flood
	// of them must leave the inspector time for real deliveries.
	feedRefused = 8
	// feedMax and feedBytes bound a batch, should the inspector stop
	// taking them for a while (an editor open, a terminal stopped): the
	// events pane keeps fewer deliveries than that anyway.
	feedMax   = 10_000
	feedBytes = 16 << 20
)

func newFeed(ctx context.Context, log *slog.Logger, send func(tea.Msg)) *feed {
	f := &feed{send: send, wake: make(chan struct{}, 1)}
	go f.drain(ctx, log)
	return f
}

// report queues r for the next batch; a refused request beyond the
// batch's share is dropped and counted.
func (f *feed) report(r webhook.Report) {
	f.mu.Lock()
	size := len(r.Body) + len(r.Response)
	switch {
	case !r.Verified && f.refused >= feedRefused, len(f.pending) >= feedMax, f.bytes+size > feedBytes:
		f.mu.Unlock()
		f.dropped.Add(1)
		return
	case !r.Verified:
		f.refused++
	}
	f.pending = append(f.pending, r)
	f.bytes += size
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take empties the batch.
func (f *feed) take() []webhook.Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.pending
	f.pending, f.refused, f.bytes = nil, 0, 0
	return b
}

// drain hands each batch over until ctx ends, and says now and then how
// many reports the inspector could not show.
func (f *feed) drain(ctx context.Context, log *slog.Logger) {
	var told time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		if b := f.take(); len(b) > 0 {
			f.send(tui.DeliveriesMsg(b))
		}
		if time.Since(told) > 5*time.Second {
			if n := f.dropped.Swap(0); n > 0 {
				log.Warn("the inspector fell behind (a flood of refused requests?); deliveries not shown there (each is in this log)", "count", n)
				told = time.Now()
			}
		}
		// What arrives meanwhile waits for the next frame.
		t := time.NewTimer(feedFrame)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
