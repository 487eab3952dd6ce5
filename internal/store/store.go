// Package store holds the domain of the sync (deliveries, entity changes,
// outcomes) and the contract that each database driver implements. It
// imports only the standard library; the drivers live in store/sqlite and
// store/postgres and are checked by one shared suite in store/storetest.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"time"
)

// Outcome is what a delivery did. It is the "outcome" of the HTTP answer
// and of the ledger row.
type Outcome string

// The outcomes of a delivery.
const (
	// Applied: the change was written (or a tombstone was recorded).
	Applied Outcome = "applied"
	// Duplicate: this svix-id was already done; nothing changed.
	Duplicate Outcome = "duplicate"
	// Stale: the stored version is newer, or the entity (or one it belongs
	// to) is tombstoned.
	Stale Outcome = "stale"
	// Ignored: an event type the sync does not act on.
	Ignored Outcome = "ignored"
	// Rejected: the body was verified but cannot be applied.
	Rejected Outcome = "rejected"
	// Failed: the database refused the change for good (e.g. a constraint
	// of the user's table). A later retry of the same svix-id runs again.
	Failed Outcome = "failed"
)

// Errors that drivers translate their own errors into.
var (
	// ErrUnavailable: the database could not be reached or the transaction
	// could not complete for a reason that a retry may fix. Nothing was
	// recorded as done.
	ErrUnavailable = errors.New("database unavailable")
	// ErrPermanent: the database refused the change itself (constraint,
	// bad value). The delivery is recorded as failed.
	ErrPermanent = errors.New("database refused the change")
)

// DeleteMode says what a deletion does to the entity's row.
type DeleteMode string

// Delete modes.
const (
	HardDelete DeleteMode = "hard" // delete the row
	SoftDelete DeleteMode = "soft" // set "deletedAt"
)

// Kind is a kind of entity that Clerk announces and the sync keeps.
type Kind string

// The kinds of entity.
const (
	KindUser         Kind = "user"
	KindOrganization Kind = "organization"
	KindMembership   Kind = "membership" // an organization membership
)

// Kinds lists every kind, parents before children.
var Kinds = []Kind{KindUser, KindOrganization, KindMembership}

// Children are the kinds whose entities belong to an entity of kind: a
// membership belongs to its organization and to its user.
func (k Kind) Children() []Kind {
	switch k {
	case KindUser, KindOrganization:
		return []Kind{KindMembership}
	}
	return nil
}

// IsChild reports whether entities of kind belong to others: whether
// some kind lists it among its Children.
func (k Kind) IsChild() bool {
	for _, p := range Kinds {
		if slices.Contains(p.Children(), k) {
			return true
		}
	}
	return false
}

// Ref names one entity.
type Ref struct {
	Kind Kind
	ID   string
}

// Delivery is one verified webhook request as the ledger records it.
type Delivery struct {
	SvixID string
	Type   string
	// UserID is the user whose data the body holds (the user of a user
	// event, the member of a membership event); empty when none. The
	// user's deletion erases the body.
	UserID     string
	ReceivedAt time.Time
	Payload    []byte // the raw body, byte for byte, for replay
}

// Change is what an event (or a read of Clerk's Backend API) asks of one
// entity's row. The rules are the same for every kind: keyed by (Kind,
// ID), a change applies when its (Version, Digest) is greater than the
// stored one and neither the entity nor any of its Parents is tombstoned;
// a deletion tombstones the entity for good, and its children with it.
type Change struct {
	Kind Kind
	ID   string
	// Parents are the entities this one belongs to (a membership's
	// organization and user).
	Parents []Ref
	// Version orders the events of one entity (Unix ms): data.updated_at
	// for created and updated events, the envelope timestamp for deleted.
	Version int64
	// Digest orders two changes of one Version (Digest of Data): the
	// greater wins, so that different bodies carrying one version end the
	// same in every delivery order, and the same body twice is stale.
	Digest int64
	// Deleted is true for a deletion; the fields below are then unset.
	Deleted bool
	// Fields of every kind.
	CreatedAt       time.Time
	UpdatedAt       time.Time
	PublicMetadata  []byte // raw JSON; nil when null
	PrivateMetadata []byte // raw JSON; nil when null
	Data            []byte // the whole entity object, raw JSON
	// Fields of a user, read once on the hot path; the fields of other
	// kinds are read from Data by the mapping.
	Email          *string
	FirstName      *string
	LastName       *string
	Username       *string
	ImageURL       *string
	Phone          *string    // the primary phone number
	ExternalID     *string    //
	LastSignInAt   *time.Time //
	Banned, Locked bool       //
	UnsafeMetadata []byte     // raw JSON; nil when null
}

// Ref is the entity the change is about.
func (c *Change) Ref() Ref { return Ref{c.Kind, c.ID} }

// UserID is the user whose data the change holds: the user itself, or
// the member of a membership; "" for other kinds.
func (c *Change) UserID() string {
	if c.Kind == KindUser {
		return c.ID
	}
	for _, p := range c.Parents {
		if p.Kind == KindUser {
			return p.ID
		}
	}
	return ""
}

// Digest is the tie-break of a change whose entity data is data: the
// first 63 bits of its SHA-256, never negative, so that bookkeeping from
// before digests (0) loses every tie.
func Digest(data []byte) int64 {
	sum := sha256.Sum256(data)
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
}

// User is a row of an entity's table as the mapping reads it (the users
// table, or another kind's, whose fields are all in Other). Fields that
// the mapping does not write stay empty.
type User struct {
	ID        string // the primary key, as text
	ClerkID   string // the key column: the Clerk user id
	Email     *string
	FirstName *string
	LastName  *string
	Username  *string
	ImageURL  *string
	CreatedAt time.Time
	UpdatedAt time.Time
	Deleted   bool       // soft-deleted
	DeletedAt *time.Time // when soft-deleted into a timestamp column
	// Other holds the other columns by Clerk field name ("phone",
	// "public_metadata" …) as canonical text: times in RFC 3339 UTC with
	// milliseconds, booleans as true/false, JSON with sorted keys. A field
	// that is NULL is missing.
	Other map[string]string
}

// Set sets the member for a Clerk field (email, first_name, last_name,
// username, image_url, created_at, updated_at) from its canonical text, or
// else puts the text in Other.
func (u *User) Set(field, text string) {
	str := func(p **string) { *p = &text }
	tm := func(p *time.Time) { *p, _ = time.Parse(time.RFC3339Nano, text) }
	switch field {
	case "email":
		str(&u.Email)
	case "first_name":
		str(&u.FirstName)
	case "last_name":
		str(&u.LastName)
	case "username":
		str(&u.Username)
	case "image_url":
		str(&u.ImageURL)
	case "created_at":
		tm(&u.CreatedAt)
	case "updated_at":
		tm(&u.UpdatedAt)
	default:
		if u.Other == nil {
			u.Other = map[string]string{}
		}
		u.Other[field] = text
	}
}

// TimeLayout is the canonical text of a time: UTC, to the millisecond,
// as Clerk's timestamps are kept.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Get is Set's inverse: the canonical text of the member for a Clerk
// field, or of Other; ok is false when the field has no value.
func (u *User) Get(field string) (text string, ok bool) {
	str := func(p *string) (string, bool) {
		if p == nil {
			return "", false
		}
		return *p, true
	}
	tm := func(t time.Time) (string, bool) {
		if t.IsZero() {
			return "", false
		}
		return t.UTC().Format(TimeLayout), true
	}
	switch field {
	case "email":
		return str(u.Email)
	case "first_name":
		return str(u.FirstName)
	case "last_name":
		return str(u.LastName)
	case "username":
		return str(u.Username)
	case "image_url":
		return str(u.ImageURL)
	case "created_at":
		return tm(u.CreatedAt)
	case "updated_at":
		return tm(u.UpdatedAt)
	}
	text, ok = u.Other[field]
	return text, ok
}

// State is our bookkeeping for one entity.
type State struct {
	Kind    Kind
	ID      string
	Version int64
	Digest  int64 // the Digest of the change that set Version
	Deleted bool  // tombstoned: no later event brings the entity back
}

// Record is one row of the delivery ledger.
type Record struct {
	Delivery
	Outcome  Outcome
	Error    string
	Attempts int
}

// Position is a place in the ledger's history, which runs newest first:
// by time received, then by svix-id. History lists what follows it.
type Position struct {
	ReceivedAt time.Time
	// SvixID places it among the deliveries of ReceivedAt; empty, it is
	// before all of them: History lists what was received earlier.
	SvixID string
}

// Before is the position of everything received before t.
func Before(t time.Time) Position { return Position{ReceivedAt: t} }

// Position is the record's place: the next page of history starts after
// it, however many deliveries share its time.
func (r Record) Position() Position { return Position{r.ReceivedAt, r.SvixID} }

// Older reports whether p comes after q in the ledger's history.
func (p Position) Older(q Position) bool {
	return p.ReceivedAt.Before(q.ReceivedAt) || p.ReceivedAt.Equal(q.ReceivedAt) && p.SvixID < q.SvixID
}

// Keyset is p in a store that keeps times to the given precision, as the
// time and svix-id to compare rows against, (received_at, svix_id) <
// (at, id). A time finer than the precision is after every row of its
// truncation, which may have been received before or after it.
func (p Position) Keyset(precision time.Duration) (at time.Time, id string) {
	at = p.ReceivedAt.Truncate(precision)
	if !at.Equal(p.ReceivedAt) {
		return at.Add(precision), ""
	}
	return at, p.SvixID
}

// Store is the contract of a database driver. Every method that writes
// does so in one transaction.
type Store interface {
	// Apply records the delivery and applies the change in one transaction:
	// Duplicate when the svix-id is already done, Stale when the stored
	// version is not older or the entity or a parent is tombstoned, else
	// Applied; a deletion also tombstones the entity's children and removes
	// their rows, and a user's deletion erases the stored bodies that hold
	// the user's data. A change of a kind the store does not keep is
	// recorded as Ignored. A
	// permanent error records the delivery as Failed and returns an error
	// wrapping ErrPermanent; any other error wraps ErrUnavailable and
	// leaves nothing recorded. A delivery without a SvixID is a change read
	// from Clerk's Backend API (backfill, reconcile): the same rules, and
	// no ledger row.
	Apply(ctx context.Context, d Delivery, c Change) (Outcome, error)
	// Record stores a delivery that changes no entity (Ignored, Rejected or
	// Failed, with errMsg). It returns Duplicate, and stores nothing, when
	// the svix-id is already done.
	Record(ctx context.Context, d Delivery, o Outcome, errMsg string) (Outcome, error)
	// Users lists the rows of the users table ordered by id.
	Users(ctx context.Context) ([]User, error)
	// Rows lists the rows of the table of kind ordered by Clerk id, or
	// ErrNotKept when the store keeps no such table.
	Rows(ctx context.Context, kind Kind) ([]User, error)
	// States lists the bookkeeping of every entity of kind seen, ordered
	// by id.
	States(ctx context.Context, kind Kind) ([]State, error)
	// Delivery returns the ledger row of one svix-id, or ErrNotFound.
	Delivery(ctx context.Context, svixID string) (Record, error)
	// History returns up to limit ledger rows after p in the ledger's
	// order: newest first by time received, then by svix-id.
	History(ctx context.Context, p Position, limit int) ([]Record, error)
	// Ping checks that a delivery can be applied now: the database
	// answers and takes writes.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
	Pruner
	Jobs
}

// BulkApplier is a store that applies many changes read from Clerk's
// Backend API (a backfill's page: no svix-ids, no ledger rows) in one
// statement, by the same rules as Apply. Every change is of one kind,
// none is a deletion, and no id repeats; the outcomes are in the order of
// cs. An error wrapping ErrPermanent means that some change was refused
// and none was applied: apply them one by one to find which.
type BulkApplier interface {
	ApplyAll(ctx context.Context, cs []Change) ([]Outcome, error)
}

// View reads a users table, perhaps one that another program writes (the
// app's own handler, in relay mode). Every Store is one.
type View interface {
	// Users lists the rows of the users table ordered by id.
	Users(ctx context.Context) ([]User, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
}

// ErrNotFound: no such row.
var ErrNotFound = errors.New("not found")

// ErrNotKept: the mapping keeps no table for that kind of entity.
var ErrNotKept = errors.New("no table is mapped for this kind")
