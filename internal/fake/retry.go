package fake

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Retry schedules: the delay before each attempt, the first included.
var (
	// SvixSchedule is Svix's real schedule: immediately, then 5 s, 5 min,
	// 30 min, 2 h, 5 h, 10 h and 10 h after each failure (about 27 h).
	SvixSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	// FastSchedule has the same eight attempts, compressed to about 17 s,
	// for tests.
	FastSchedule = []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
		2 * time.Second, 3 * time.Second, 5 * time.Second, 5 * time.Second}
	// NoRetry is a single attempt.
	NoRetry = []time.Duration{0}
)

// Schedule returns the named schedule: svix, fast or none.
func Schedule(name string) ([]time.Duration, error) {
	switch name {
	case "svix":
		return SvixSchedule, nil
	case "fast":
		return FastSchedule, nil
	case "none", "":
		return NoRetry, nil
	}
	return nil, fmt.Errorf("retry %q: want svix, fast or none", name)
}

// Attempt is one try at a delivery.
type Attempt struct {
	N        int // 1 for the first
	Response Response
	Err      error // no answer came back
}

// OK reports whether the attempt succeeded: any 2xx, as Svix counts it.
func (a Attempt) OK() bool {
	return a.Err == nil && a.Response.Status >= 200 && a.Response.Status < 300
}

// Deliverer sends deliveries the way Svix does: signed at each attempt,
// retried on a non-2xx answer or a network error with the same svix-id.
type Deliverer struct {
	Client   *http.Client
	URL      string
	Signer   *Signer
	Shape    Shape
	Schedule []time.Duration
	// OnAttempt, when set, sees every attempt as it completes.
	OnAttempt func(d Delivery, a Attempt)
}

// Deliver sends d until an attempt succeeds, the schedule runs out or ctx
// ends, and returns the last attempt.
func (dv *Deliverer) Deliver(ctx context.Context, d Delivery) Attempt {
	schedule := dv.Schedule
	if len(schedule) == 0 {
		schedule = NoRetry
	}
	var last Attempt
	for i, wait := range schedule {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return last
			case <-t.C:
			}
		}
		h, body, err := dv.Shape.Sign(dv.Signer, d, time.Now())
		if err != nil {
			return Attempt{N: i + 1, Err: err}
		}
		sent := d
		sent.Header, sent.Body = h, body
		resp, err := Post(ctx, dv.Client, dv.URL, sent)
		last = Attempt{N: i + 1, Response: resp, Err: err}
		if dv.OnAttempt != nil {
			dv.OnAttempt(d, last)
		}
		if last.OK() || ctx.Err() != nil {
			return last
		}
	}
	return last
}
