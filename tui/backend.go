// Package tui is the inspector: a Bubble Tea v2 program that shows each
// delivery to the receiver beside the users table it changed. It does no
// I/O of its own: everything goes through a Backend, inside tea.Cmd.
package tui

import (
	"context"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/tunnel"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// Delivery is one request to the webhook path: verification, outcome,
// status, latency, headers, body and the answer.
type Delivery = webhook.Report

// Backend is what the inspector asks of the running receiver. Its methods
// do I/O and are only called inside tea.Cmd functions.
type Backend interface {
	// Rows returns the table of kind (users, organizations or
	// memberships; ordered by id) and the bookkeeping of every entity of
	// that kind seen, tombstones included.
	Rows(ctx context.Context, kind store.Kind) ([]store.User, []store.State, error)
	// History returns up to n ledger rows after p, newest first (see
	// store.Store's History).
	History(ctx context.Context, p store.Position, n int) ([]store.Record, error)
	// Send fires a signed mock event at the receiver: eventType is
	// user.created, user.updated or user.deleted; userID is the user an
	// update or delete acts on ("" = the last one created).
	Send(ctx context.Context, eventType, userID string) error
	// Scenario runs a built-in mockclerk scenario (e.g. out-of-order).
	Scenario(ctx context.Context, name string) error
	// Replay sends d again byte for byte, same svix-id and headers: the
	// receiver should answer duplicate.
	Replay(ctx context.Context, d Delivery) error
	// Resend signs d's body again under a new svix-id and sends it.
	Resend(ctx context.Context, d Delivery) error
	// Curl renders d as a curl command line.
	Curl(d Delivery) string
	// Body returns the exact bytes of a delivery's body from the ledger,
	// for a delivery whose body the inspector did not keep.
	Body(ctx context.Context, svixID string) ([]byte, error)
	// Backfill returns where a `clerk-sync backfill` on this database
	// stands — under way in any process, or stopped midway — or nil when
	// none is.
	Backfill(ctx context.Context) (*BackfillMsg, error)
}

// BackfillMsg is where a backfill stands, as the status bar shows it;
// the inspector asks for it every few seconds.
type BackfillMsg struct {
	Done, Total int64
	At          time.Time // when its last page was saved
}

// Info is the fixed part of the status bar.
type Info struct {
	Listen      string // e.g. 127.0.0.1:8080
	WebhookURL  string // the local webhook URL
	Database    string // e.g. "sqlite clerk-sync.db" (never a password)
	Fingerprint string // the secret's fingerprint, never the secret
	// SecretSource says where the secret came from, e.g.
	// "CLERK_WEBHOOK_SIGNING_SECRET (.env.local)".
	SecretSource string
	// ForwardTo is the app's handler in relay mode, else "".
	ForwardTo string
	LogFile   string // where the logs go while the TUI owns the terminal
	// LocalSecret is true when the secret was generated on this machine:
	// the real Clerk cannot know it, which the tunnel line says.
	LocalSecret bool
	// Columns names the users table's column of each Clerk field, and of
	// "id" (the primary key), "key" and "deleted": mapping.ColumnNames.
	// Nil means the default mapping's.
	Columns map[string]string
	// KindColumns is Columns for the organizations' and memberships'
	// tables, when the mapping keeps them.
	KindColumns map[store.Kind]map[string]string
}

// DeliveriesMsg tells the inspector that deliveries were answered, oldest
// first. The receiver gathers them and sends at most ten such messages a
// second with tea.Program.Send, so that no delivery waits for the screen.
type DeliveriesMsg []Delivery

// ReconcileMsg tells the inspector that a reconcile run in the
// background (--reconcile-every) ended: what it found and repaired.
type ReconcileMsg struct {
	At       time.Time // when it began
	Drift    int       // users missing, behind or gone
	Repaired int
	Error    string // the run failed; the counts are what it found before
}

// TunnelMsg tells the inspector that the tunnel's state changed.
type TunnelMsg struct{ Status tunnel.Status }
