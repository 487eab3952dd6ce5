// Package postgres is the PostgreSQL driver of the store, on pgx v5's
// pgxpool. Several sync processes may share one database: every rule of the
// contract is enforced by row locks inside one statement-per-delivery
// function (see migrations/0001_init.sql), never by reading first.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// DefaultMaxConns is the pool size when the URL sets no pool_max_conns:
// the committer, Record and the health checks share it.
const DefaultMaxConns = 8

// Group commit: the committer takes the deliveries waiting at that moment
// (up to maxBatch) and applies them in one transaction, one round trip and
// one WAL flush; every caller is answered only after the commit that holds
// its delivery. One committer measured best on 2 cores against two and
// four (go tool task bench, with the constant changed by hand).
const (
	committers = 1
	maxBatch   = 64
)

// Store is the PostgreSQL store.
type Store struct {
	View   // the reads: Users and Ping
	queue  *store.Queue[request]
	tables map[store.Kind]*table // the table of each kind kept
}

// request is one delivery waiting for the committer.
type request struct {
	d store.Delivery
	c store.Change
}

var _ store.Store = (*Store)(nil)

// Open connects to url, checks that the server answers, migrates the
// schema, creates the users table when m is the default mapping, and
// checks the table against m: a table that cannot take what m writes is an
// error wrapping mapping.ErrMismatch.
func Open(ctx context.Context, url string, m mapping.Mapping) (*Store, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if _, set := cfg.ConnConfig.RuntimeParams["application_name"]; !set {
		cfg.ConnConfig.RuntimeParams["application_name"] = "clerk-sync"
	}
	if !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	tables, err := migrate(ctx, pool, m)
	if errors.Is(err, mapping.ErrMismatch) {
		pool.Close()
		return nil, err
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	s := &Store{View: View{pool: pool, table: tables[store.KindUser]}, tables: tables}
	s.queue = store.NewQueue(committers, maxBatch, s.commit)
	return s, nil
}

// Apply implements store.Store.
func (s *Store) Apply(ctx context.Context, d store.Delivery, c store.Change) (store.Outcome, error) {
	if _, kept := s.tables[c.Kind]; !kept {
		if d.SvixID == "" {
			return store.Ignored, nil
		}
		return s.Record(ctx, d, store.Ignored, "")
	}
	return s.queue.Do(ctx, request{d: d, c: c})
}

// commit applies a batch in one transaction. If anything in it fails, the
// transaction is rolled back and each delivery is applied on its own, so
// that one refused change costs only itself.
func (s *Store) commit(batch []request) []store.Done {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make([]store.Done, len(batch))
	if len(batch) > 1 {
		if outcomes, err := s.applyBatch(ctx, batch); err == nil {
			for i, o := range outcomes {
				done[i].Outcome = o
			}
			return done
		}
	}
	for i, r := range batch {
		done[i].Outcome, done[i].Err = s.applyOne(ctx, r)
	}
	return done
}

// applyBatch sends BEGIN, one call per delivery and COMMIT in one round
// trip. The calls go in (kind, id) order, parents' kinds first: every
// transaction then takes its entities' row locks in the same order, so
// that two batches of one kind cannot deadlock (a deadlock between
// memberships and their parents fails the batch, which is then applied
// one delivery at a time).
func (s *Store) applyBatch(ctx context.Context, batch []request) ([]store.Outcome, error) {
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := &batch[a].c, &batch[b].c
		return cmp.Or(cmp.Compare(slices.Index(store.Kinds, ca.Kind), slices.Index(store.Kinds, cb.Kind)), strings.Compare(ca.ID, cb.ID))
	})
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, i := range order {
		t := s.tables[batch[i].c.Kind]
		b.Queue(t.fn.applySQL, t.args(batch[i].d, &batch[i].c)...)
	}
	b.Queue("COMMIT")
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	outcomes := make([]store.Outcome, len(batch))
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	for _, i := range order {
		var o string
		if err := br.QueryRow().Scan(&o); err != nil {
			return nil, err
		}
		outcomes[i] = store.Outcome(o)
	}
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	return outcomes, br.Close()
}

// applyOne applies one delivery in its own transaction (one statement).
func (s *Store) applyOne(ctx context.Context, r request) (store.Outcome, error) {
	var outcome string
	t := s.tables[r.c.Kind]
	err := s.pool.QueryRow(ctx, t.fn.applySQL, t.args(r.d, &r.c)...).Scan(&outcome)
	if err == nil {
		return store.Outcome(outcome), nil
	}
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == duplicateChange {
		return store.Duplicate, nil
	}
	err = classify("apply", err)
	if !errors.Is(err, store.ErrPermanent) {
		return "", err
	}
	if r.d.SvixID == "" {
		return store.Failed, err // a change read from the Backend API: no delivery to record
	}
	// The function rolled back as a whole; record why, so that the failure
	// is visible and a retry of the same svix-id runs again.
	o, rerr := s.Record(ctx, r.d, store.Failed, err.Error())
	if errors.Is(rerr, store.ErrPermanent) {
		// The delivery's own fields cannot be stored: still a refusal
		// for good, which a retry does not fix.
		return store.Failed, fmt.Errorf("%w; recording the failure: %w", err, rerr)
	}
	if rerr != nil {
		return "", rerr
	}
	if o == store.Duplicate {
		// Another replica applied the same message meanwhile.
		return store.Duplicate, nil
	}
	return store.Failed, err
}

var _ store.BulkApplier = (*Store)(nil)

// ApplyAll implements store.BulkApplier: one statement for the whole of
// cs, which a backfill's page of 500 users needs instead of 500 calls.
func (s *Store) ApplyAll(ctx context.Context, cs []store.Change) ([]store.Outcome, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	t, kept := s.tables[cs[0].Kind]
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		if c.Kind != cs[0].Kind || c.Deleted || len(c.Parents) > 0 || seen[c.ID] {
			return nil, fmt.Errorf("apply all: %w: changes of one kind, no deletions, no parents, no id twice", store.ErrPermanent)
		}
		seen[c.ID] = true
	}
	out := make([]store.Outcome, len(cs))
	if !kept {
		for i := range out {
			out[i] = store.Ignored
		}
		return out, nil
	}
	rows, err := s.pool.Query(ctx, t.bulkSQL, t.bulkArgs(cs)...)
	if err != nil {
		return nil, classify("apply all", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, classify("apply all", err)
	}
	done := make(map[string]bool, len(applied))
	for _, id := range applied {
		done[id] = true
	}
	for i, c := range cs {
		out[i] = store.Stale
		if done[c.ID] {
			out[i] = store.Applied
		}
	}
	return out, nil
}

// Record implements store.Store.
func (s *Store) Record(ctx context.Context, d store.Delivery, o store.Outcome, errMsg string) (store.Outcome, error) {
	var userID, msg *string
	if d.UserID != "" {
		userID = &d.UserID
	}
	if errMsg != "" {
		msg = &errMsg
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO clerk_sync_deliveries AS d (svix_id, event_type, user_id, outcome, error, received_at, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (svix_id) DO UPDATE
			SET event_type = excluded.event_type, user_id = excluded.user_id, outcome = excluded.outcome,
				error = excluded.error, attempts = d.attempts + 1, received_at = excluded.received_at,
				payload = excluded.payload
			WHERE d.outcome IN ('failed', 'rejected')`,
		d.SvixID, d.Type, userID, string(o), msg, d.ReceivedAt, d.Payload)
	if err != nil {
		return "", classify("record delivery", err)
	}
	if tag.RowsAffected() == 0 {
		return store.Duplicate, nil
	}
	return o, nil
}

// View reads the users table of a database that another program — the
// app's own webhook handler — writes: no migration, and every transaction
// read-only.
type View struct {
	pool  *pgxpool.Pool
	table *table
	// readOnly: each read runs in a READ ONLY transaction. Not a setting
	// sent at connection (default_transaction_read_only), which PgBouncer
	// refuses, and which a pooled server connection would carry over to
	// its next client.
	readOnly bool
}

// read runs fn in a READ ONLY transaction when v is a view, through the
// pool as it is when v is a store's own.
func (v *View) read(ctx context.Context, fn func(querier) error) error {
	if !v.readOnly {
		return fn(v.pool)
	}
	return pgx.BeginTxFunc(ctx, v.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error { return fn(tx) })
}

// OpenView connects to url read-only to show the table that m names; it
// fails when the table cannot be read through m.
func OpenView(ctx context.Context, url string, m mapping.Mapping) (*View, error) {
	v, err := openView(ctx, url, m)
	if err != nil {
		return nil, err
	}
	if err := mapping.Readable(m, v.table.info); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// connect opens a pool with cfg and checks that the server answers.
func connect(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return pool, nil
}

// openView connects to url read-only and reads how the database declares
// the table that m names.
func openView(ctx context.Context, url string, m mapping.Mapping) (*View, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	v := &View{pool: pool, readOnly: true}
	var info mapping.TableInfo
	if err := v.read(ctx, func(q querier) (err error) { info, err = inspect(ctx, q, m); return err }); err != nil {
		pool.Close()
		return nil, err
	}
	v.table = newTable(m, info)
	return v, nil
}

// Inspect reads how the database at url declares the mapping's table,
// without changing anything.
func Inspect(ctx context.Context, url string, m mapping.Mapping) (mapping.TableInfo, error) {
	v, err := openView(ctx, url, m)
	if err != nil {
		return mapping.TableInfo{}, err
	}
	v.Close()
	return v.table.info, nil
}

// Users lists the rows of the users table ordered by the key.
func (v *View) Users(ctx context.Context) (users []store.User, err error) {
	err = v.read(ctx, func(q querier) (err error) { users, err = v.table.users(ctx, q); return err })
	return users, err
}

// Ping checks that the database answers.
func (v *View) Ping(ctx context.Context) error {
	if err := v.pool.Ping(ctx); err != nil {
		return classify("ping postgres", err)
	}
	return nil
}

// Close closes the pool.
func (v *View) Close() error {
	v.pool.Close()
	return nil
}

// Rows implements store.Store.
func (s *Store) Rows(ctx context.Context, kind store.Kind) ([]store.User, error) {
	t, ok := s.tables[kind]
	if !ok {
		return nil, fmt.Errorf("list %ss: %w", kind, store.ErrNotKept)
	}
	return t.users(ctx, s.pool)
}

// States implements store.Store. A parent's row that a membership made
// before the parent's first event (version 0) is not a state yet.
func (s *Store) States(ctx context.Context, kind store.Kind) ([]store.State, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, version, digest, deleted FROM clerk_sync_entities
		WHERE kind = $1 AND (version > 0 OR deleted) ORDER BY id COLLATE "C"`, string(kind))
	if err != nil {
		return nil, classify("list "+string(kind)+" states", err)
	}
	states, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.State, error) {
		st := store.State{Kind: kind}
		err := r.Scan(&st.ID, &st.Version, &st.Digest, &st.Deleted)
		return st, err
	})
	if err != nil {
		return nil, classify("list "+string(kind)+" states", err)
	}
	return states, nil
}

// Delivery implements store.Store.
func (s *Store) Delivery(ctx context.Context, svixID string) (store.Record, error) {
	var r store.Record
	err := s.pool.QueryRow(ctx, `
		SELECT svix_id, event_type, coalesce(user_id, ''), outcome, coalesce(error, ''), attempts, received_at, payload
		FROM clerk_sync_deliveries WHERE svix_id = $1`, svixID).
		Scan(&r.SvixID, &r.Type, &r.UserID, &r.Outcome, &r.Error, &r.Attempts, &r.ReceivedAt, &r.Payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("delivery %s: %w", svixID, store.ErrNotFound)
	}
	if err != nil {
		return r, classify("read delivery", err)
	}
	return r, nil
}

// History implements store.Store.
func (s *Store) History(ctx context.Context, p store.Position, limit int) ([]store.Record, error) {
	at, id := p.Keyset(time.Microsecond) // timestamptz's precision
	rows, err := s.pool.Query(ctx, `
		SELECT svix_id, event_type, coalesce(user_id, ''), outcome, coalesce(error, ''), attempts, received_at, payload
		FROM clerk_sync_deliveries WHERE (received_at, svix_id COLLATE "C") < ($1, $2)
		ORDER BY received_at DESC, svix_id COLLATE "C" DESC LIMIT $3`, at, id, limit)
	if err != nil {
		return nil, classify("read history", err)
	}
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Record, error) {
		var rec store.Record
		err := r.Scan(&rec.SvixID, &rec.Type, &rec.UserID, &rec.Outcome, &rec.Error, &rec.Attempts, &rec.ReceivedAt, &rec.Payload)
		return rec, err
	})
	if err != nil {
		return nil, classify("read history", err)
	}
	return recs, nil
}

// Ping implements store.Store: it answers nil only when a delivery can be
// applied, so a server that takes no writes (a standby, or a database set
// default_transaction_read_only) is not ready.
func (s *Store) Ping(ctx context.Context) error {
	var readOnly string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('transaction_read_only')`).Scan(&readOnly); err != nil {
		return classify("ping postgres", err)
	}
	if readOnly == "on" {
		return fmt.Errorf("ping postgres: %w: the server takes no writes (a standby, or default_transaction_read_only is on): "+
			"point the database URL at the primary", store.ErrUnavailable)
	}
	return nil
}

// Close implements store.Store: it answers the deliveries already queued,
// then closes the pool.
func (s *Store) Close() error {
	s.queue.Close()
	s.pool.Close()
	return nil
}

// classify translates a pgx error into the store's vocabulary: SQLSTATE
// classes that a retry may fix are ErrUnavailable, the rest of the server's
// refusals are ErrPermanent, and anything that is not an answer from the
// server (network, closed pool, context) is ErrUnavailable.
func classify(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"40", // transaction rollback: serialization failure, deadlock
			"53", // insufficient resources
			"57", // operator intervention: shutdown, cancel
			"58": // system error
			return fmt.Errorf("%s: %w: %s (SQLSTATE %s)", op, store.ErrUnavailable, pgErr.Message, pgErr.Code)
		}
		switch pgErr.Code {
		case "55P03", // lock not available (lock_timeout)
			"55006", // object in use
			"25006": // read-only transaction, e.g. on a standby after a failover
			return fmt.Errorf("%s: %w: %s (SQLSTATE %s)", op, store.ErrUnavailable, pgErr.Message, pgErr.Code)
		}
		return fmt.Errorf("%s: %w: %s (SQLSTATE %s)", op, store.ErrPermanent, pgErr.Message, pgErr.Code)
	}
	return fmt.Errorf("%s: %w: %v", op, store.ErrUnavailable, err)
}
