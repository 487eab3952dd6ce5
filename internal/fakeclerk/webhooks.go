package fakeclerk

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// Event is a change of the instance that Clerk announces by webhook.
type Event struct {
	Type      string // clerk.UserCreated, UserUpdated or UserDeleted
	UserID    string
	Data      []byte // the user object the API answered, or the deleted object
	Timestamp int64  // Unix ms
	ClientIP  string // of the API request that made the change
	UserAgent string
}

// envelope is the body of Clerk's webhooks, in Clerk's field order.
type envelope struct {
	Data            json.RawMessage `json:"data"`
	EventAttributes struct {
		HTTPRequest struct {
			ClientIP  string `json:"client_ip"`
			UserAgent string `json:"user_agent"`
		} `json:"http_request"`
	} `json:"event_attributes"`
	InstanceID string `json:"instance_id"`
	Object     string `json:"object"`
	Timestamp  int64  `json:"timestamp"`
	Type       string `json:"type"`
}

// deletedData is the data of user.deleted.
func deletedData(id string) []byte {
	b, _ := json.Marshal(struct {
		Deleted bool   `json:"deleted"`
		ID      string `json:"id"`
		Object  string `json:"object"`
	}{true, id, "user"})
	return b
}

// WebhookOptions configure NewWebhooks.
type WebhookOptions struct {
	URL      string
	Signer   *fake.Signer
	Schedule []time.Duration // fake.SvixSchedule, FastSchedule or NoRetry
	// Drop is the share of events never delivered, as if Svix had given
	// up on them.
	Drop float64
	// Queue bounds the events being delivered or waiting for a retry;
	// an event that finds it full is lost, counted in Overflowed.
	Queue  int
	Seed   uint64 // of the drop decisions
	Client *http.Client
	Log    *slog.Logger
}

// WebhookStats count what became of the events sent so far.
type WebhookStats struct {
	Delivered int64 // a 2xx answer, perhaps after retries
	Failed    int64 // every attempt of the schedule failed
	Dropped   int64 // lost on purpose (Drop)
	// Overflowed were lost because Queue events were already waiting:
	// Clerk's API never waits for its webhooks, so the fake's does not.
	Overflowed int64
}

// Webhooks delivers events to one endpoint, signed and retried as Svix
// does. Each event has its own goroutine, as each Svix message has its own
// schedule: one failing delivery waiting hours for its next attempt holds
// up no other, and events arrive in no guaranteed order, as from Clerk.
type Webhooks struct {
	dv         *fake.Deliverer
	drop       float64
	instanceID string
	log        *slog.Logger

	mu  sync.Mutex
	rng *rand.Rand

	slots  chan struct{}
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	delivered, failed, dropped, overflowed atomic.Int64
}

// NewWebhooks returns a sender to o.URL.
func NewWebhooks(o WebhookOptions) *Webhooks {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhooks{
		drop: o.Drop, instanceID: randomID("ins"), log: o.Log,
		rng:   rand.New(rand.NewPCG(o.Seed, 0x5eed)),
		slots: make(chan struct{}, max(o.Queue, 1)),
		ctx:   ctx, cancel: cancel,
	}
	w.dv = &fake.Deliverer{Client: o.Client, URL: o.URL, Signer: o.Signer, Schedule: o.Schedule, OnAttempt: w.logAttempt}
	return w
}

// Send queues ev for delivery and returns at once.
func (w *Webhooks) Send(ev Event) {
	if w.lose() {
		w.dropped.Add(1)
		w.log.Info("webhook dropped", "type", ev.Type, "user_id", ev.UserID)
		return
	}
	select {
	case w.slots <- struct{}{}:
	default:
		w.overflowed.Add(1)
		w.log.Warn("webhook lost: too many waiting for delivery", "type", ev.Type, "user_id", ev.UserID, "waiting", cap(w.slots))
		return
	}
	d := fake.Delivery{ID: randomID("msg"), Body: w.body(ev), Event: fake.Event{Type: ev.Type, UserID: ev.UserID}}
	d.Event.Body = d.Body
	w.wg.Add(1)
	go func() {
		defer func() { <-w.slots; w.wg.Done() }()
		if w.dv.Deliver(w.ctx, d).OK() {
			w.delivered.Add(1)
		} else if w.ctx.Err() == nil {
			w.failed.Add(1)
		}
	}()
}

func (w *Webhooks) lose() bool {
	if w.drop <= 0 {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rng.Float64() < w.drop
}

func (w *Webhooks) body(ev Event) []byte {
	e := envelope{Data: ev.Data, InstanceID: w.instanceID, Object: "event", Timestamp: ev.Timestamp, Type: ev.Type}
	e.EventAttributes.HTTPRequest.ClientIP = ev.ClientIP
	e.EventAttributes.HTTPRequest.UserAgent = ev.UserAgent
	b, err := json.Marshal(e)
	if err != nil {
		panic(err) // Data is JSON the instance rendered
	}
	return b
}

func (w *Webhooks) logAttempt(d fake.Delivery, a fake.Attempt) {
	attrs := []any{"type", d.Event.Type, "user_id", d.Event.UserID, "svix_id", d.ID, "attempt", a.N}
	switch {
	case a.Err != nil:
		w.log.Warn("webhook not delivered", append(attrs, "err", a.Err)...)
	case !a.OK():
		w.log.Warn("webhook refused", append(attrs, "status", a.Response.Status, "outcome", a.Response.Outcome, "reason", a.Response.Reason)...)
	default:
		w.log.Info("webhook delivered", append(attrs, "status", a.Response.Status, "outcome", a.Response.Outcome)...)
	}
}

// Wait returns when every event sent so far has been delivered, has
// failed its last attempt, or was given up by Close.
func (w *Webhooks) Wait() { w.wg.Wait() }

// Close gives up the deliveries still waiting for an attempt and returns
// how many there were.
func (w *Webhooks) Close() int {
	pending := len(w.slots)
	w.cancel()
	w.wg.Wait()
	return pending
}

// Stats counts what became of the events so far.
func (w *Webhooks) Stats() WebhookStats {
	return WebhookStats{Delivered: w.delivered.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load(), Overflowed: w.overflowed.Load()}
}
