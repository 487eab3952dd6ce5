// Package inspect is the TUI's backend: it reads the receiver's store and
// fires mockclerk's events at the receiver's own URL, so that what the
// inspector shows went through the real handler.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/replay"
	"github.com/clerk-sync/clerk-sync/internal/scenario"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/tui"
)

// Backend implements tui.Backend for a running receiver.
type Backend struct {
	st store.View // the receiver's store, or in relay mode the app's table (or nil)
	// dv signs and sends to the receiver's own URL, once: the answer
	// reaches the inspector through the receiver's report.
	dv fake.Deliverer

	mu    sync.Mutex // guards the generator and the users it made
	gen   *fake.Generator
	users map[string]*fake.User
	last  *fake.User
}

var _ tui.Backend = (*Backend)(nil)

// New returns the backend of the receiver whose webhook URL is url and
// whose signing secret signer holds; st is where its rows are read (nil:
// none to show).
func New(st store.View, url string, signer *fake.Signer) *Backend {
	return &Backend{
		st:    st,
		dv:    fake.Deliverer{Client: &http.Client{Timeout: 15 * time.Second}, URL: url, Signer: signer},
		gen:   fake.New(rand.Uint64(), time.Now()),
		users: map[string]*fake.User{},
	}
}

// SetProfile makes the users that c invents follow p, the Clerk
// instance's sign-up setting (mockclerk's --profile, MOCKCLERK_PROFILE).
func (b *Backend) SetProfile(p fake.Profile) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gen.Profile = p
}

// Rows implements tui.Backend.
func (b *Backend) Rows(ctx context.Context, kind store.Kind) ([]store.User, []store.State, error) {
	if b.st == nil {
		return nil, nil, nil
	}
	// Tombstones and the ledger are the receiver's own bookkeeping: an
	// app's table read in relay mode has neither, and only its users.
	st, ok := b.st.(store.Store)
	if !ok {
		if kind != store.KindUser {
			return nil, nil, fmt.Errorf("relay mode shows the app's users table only: %w", store.ErrNotKept)
		}
		users, err := b.st.Users(ctx)
		return users, nil, err
	}
	rows, err := st.Rows(ctx, kind)
	if err != nil {
		return nil, nil, err
	}
	states, err := st.States(ctx, kind)
	return rows, states, err
}

// Backfill implements tui.Backend: the backfill state that the database
// keeps, which every process that runs one writes after each page.
func (b *Backend) Backfill(ctx context.Context) (*tui.BackfillMsg, error) {
	st, ok := b.st.(store.Store)
	if !ok {
		return nil, nil
	}
	r, running, err := backfill.ReadRunning(ctx, st)
	if err != nil || !running {
		return nil, err
	}
	return &tui.BackfillMsg{Done: r.Done, Total: r.Total, At: r.At}, nil
}

// History implements tui.Backend.
func (b *Backend) History(ctx context.Context, from store.Position, n int) ([]store.Record, error) {
	st, ok := b.st.(store.Store)
	if !ok {
		return nil, nil
	}
	return st.History(ctx, from, n)
}

// Send implements tui.Backend.
func (b *Backend) Send(ctx context.Context, eventType, userID string) error {
	b.mu.Lock()
	var target *fake.User
	switch {
	case eventType == clerk.UserCreated:
	case userID != "" && b.users[userID] != nil:
		target = b.users[userID]
	case userID != "":
		// A user created elsewhere: invent the rest of it, as mockclerk does.
		target = b.gen.UserWithID(userID)
		b.users[userID] = target
	case b.last != nil:
		target = b.last
	default:
		b.mu.Unlock()
		return fmt.Errorf("no user to send %s for: create one first (c)", eventType)
	}
	ev, u, err := b.gen.Event(eventType, target)
	if err == nil && eventType == clerk.UserCreated {
		b.users[u.ID], b.last = u, u
	}
	id := b.gen.ID("msg")
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return b.send(ctx, fake.Delivery{ID: id, Body: ev.Body, Event: ev})
}

// Scenario implements tui.Backend: the scenario's deliveries in its own
// order, one at a time.
func (b *Backend) Scenario(ctx context.Context, name string) error {
	sc, err := scenario.Load(name)
	if err != nil {
		return err
	}
	b.mu.Lock()
	p, err := sc.Plan(ctx, scenario.Options{Gen: b.gen, Env: os.LookupEnv})
	ds := p.Deliveries(b.gen)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	for _, d := range ds {
		if err := b.send(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// Replay implements tui.Backend: the same bytes and headers again.
func (b *Backend) Replay(ctx context.Context, d tui.Delivery) error {
	if len(d.Body) == 0 {
		return fmt.Errorf("delivery %s: %w", d.SvixID, replay.ErrPruned)
	}
	if d.Header == nil {
		return fmt.Errorf("delivery %s: its request is not kept (loaded from the ledger?)", d.SvixID)
	}
	_, err := fake.Post(ctx, b.dv.Client, b.dv.URL, fake.Delivery{ID: d.SvixID, Body: d.Body, Header: d.Header})
	return err
}

// Resend implements tui.Backend: the same body under a new svix-id,
// signed now.
func (b *Backend) Resend(ctx context.Context, d tui.Delivery) error {
	if len(d.Body) == 0 {
		return fmt.Errorf("delivery %s: %w", d.SvixID, replay.ErrPruned)
	}
	b.mu.Lock()
	id := b.gen.ID("msg")
	b.mu.Unlock()
	return b.send(ctx, fake.Delivery{ID: id, Body: d.Body})
}

// Curl implements tui.Backend.
func (b *Backend) Curl(d tui.Delivery) string {
	return fake.Curl(b.dv.URL, d.Header, d.Body)
}

// Body implements tui.Backend: the payload of the ledger row, the bytes
// that were signed.
func (b *Backend) Body(ctx context.Context, svixID string) ([]byte, error) {
	st, ok := b.st.(store.Store)
	if !ok {
		return nil, errors.New("relay mode keeps no ledger")
	}
	rec, err := replay.Find(ctx, st, svixID)
	if err != nil {
		return nil, err
	}
	return rec.Payload, nil
}

// send signs d now and sends it once; only a failure to send is an error
// here, the answer shows through the receiver's report.
func (b *Backend) send(ctx context.Context, d fake.Delivery) error {
	return b.dv.Deliver(ctx, d).Err
}
