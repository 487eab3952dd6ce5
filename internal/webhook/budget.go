package webhook

import "golang.org/x/sync/semaphore"

// Reasons of refusals that protect the receiver's memory.
const (
	ReasonBusy     = "busy"      // the bodies in flight fill the budget
	ReasonSlowBody = "slow-body" // the body did not arrive in time
)

// DefaultMaxInFlight is how many bytes of request bodies the receiver holds
// at once unless configured otherwise.
const DefaultMaxInFlight = 16 << 20

// smallBody is the largest body that may use the share of the budget kept
// for small ones: Clerk's events are a few KiB, so a flood of large
// bodies cannot starve them.
const smallBody = 64 << 10

// budget bounds the bytes of request bodies held at once. A body takes
// its bytes as they arrive and gives them back once answered; one that
// finds no room is refused at once rather than queued, so that memory
// stays bounded whatever the number of requests.
type budget struct {
	all *semaphore.Weighted // every body
	// large is what bodies not declared small may take: a quarter of the
	// budget stays free for small ones.
	large *semaphore.Weighted
}

func newBudget(total int64) *budget {
	return &budget{all: semaphore.NewWeighted(total), large: semaphore.NewWeighted(total - total/4)}
}

// take reserves n more bytes for a body; false means there is no room.
func (b *budget) take(n int64, large bool) bool {
	if large && !b.large.TryAcquire(n) {
		return false
	}
	if !b.all.TryAcquire(n) {
		if large {
			b.large.Release(n)
		}
		return false
	}
	return true
}

// give returns n bytes that take reserved with the same large.
func (b *budget) give(n int64, large bool) {
	if n == 0 {
		return
	}
	b.all.Release(n)
	if large {
		b.large.Release(n)
	}
}
