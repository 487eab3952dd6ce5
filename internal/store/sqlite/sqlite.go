// Package sqlite is the embedded store: one SQLite file in WAL mode through
// the pure-Go modernc.org/sqlite driver, no cgo and no server.
//
// SQLite has one writer at a time, so one goroutine owns the write
// connection and applies the deliveries waiting for it together: one
// transaction and one fsync for the lot, a savepoint for each delivery so
// that one failure does not undo the others. Every caller still gets its
// answer only after the commit that holds its delivery.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// maxBatch bounds how many deliveries share one commit.
const maxBatch = 256

// Store is the SQLite store.
type Store struct {
	View // the reads: Users (Ping and Close are the Store's own)

	queue  *store.Queue[request]
	writer *writer
	tables map[store.Kind]*table // the table of each kind kept

	// pruned is when Prune last took the writer (Unix ns).
	pruned atomic.Int64
	// checkpointDue: an erasure's checkpoint is scheduled.
	checkpointDue atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// request is one delivery waiting for the writer, or a probe.
type request struct {
	delivery store.Delivery
	change   *store.Change // nil for Record
	outcome  store.Outcome // for Record
	errMsg   string
	probe    bool      // Ping's: write and commit nothing of a delivery
	prune    *pruneJob // set for Prune alone
	// checkpoint asks for the write-ahead log to be emptied after the
	// commit: the delayed end of an erasure.
	checkpoint bool
}

// isDelivery says whether r is a delivery rather than the store's own work.
func (r request) isDelivery() bool { return r.prune == nil && !r.probe && !r.checkpoint }

// eraseDelay is how long after a user's erasure the write-ahead log, which
// still holds the erased bytes, is emptied: one checkpoint for every
// erasure in that time, rather than one per commit on the delivery path.
const eraseDelay = time.Second

// scheduleCheckpoint has the writer empty the write-ahead log eraseDelay
// from now, unless that is already due.
func (s *Store) scheduleCheckpoint() {
	if !s.checkpointDue.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(eraseDelay, func() {
		s.checkpointDue.Store(false)
		s.queue.Do(context.Background(), request{checkpoint: true}) //nolint:errcheck // closed: closing checkpoints the log itself
	})
}

// Open opens (creating if needed) the database file at path, migrates
// it, creates the users table when m is the default mapping, and checks
// the table against m: a table that cannot take what m writes is an error
// wrapping mapping.ErrMismatch.
func Open(ctx context.Context, path string, m mapping.Mapping) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty file name")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if err := create(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(5000)", "foreign_keys(ON)", "secure_delete(ON)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+uriPath(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	s := &Store{View: View{db: db, path: path}, tables: map[store.Kind]*table{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate sqlite %s: %w", path, explain(path, classify(err)))
	}
	for _, p := range m.Projections() {
		t, err := prepare(ctx, db, p)
		if err != nil {
			db.Close()
			return nil, err
		}
		s.tables[p.EntityKind()] = t
	}
	s.table = s.tables[store.KindUser]
	w, err := newWriter(ctx, db, s.tables)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, classify(err))
	}
	// One writer: SQLite allows no other.
	s.writer, s.queue = w, store.NewQueue(1, maxBatch, w.commit)
	w.onErase = s.scheduleCheckpoint
	// A file that SQLite opened read-only takes the migrations it already
	// has without a write: only a write shows it.
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, explain(path, err)
	}
	return s, nil
}

// create makes the database file when it does not exist, readable and
// writable by its owner only: it holds personal data. SQLite gives the
// -wal and -shm files beside it the same mode.
func create(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the database file %s: %w", path, explain(path, err))
	}
	return f.Close()
}

// explain adds to err, which opening or writing the file at path met,
// what is wrong with the file or its directory and what to do, when
// either is what stops SQLite.
func explain(path string, err error) error {
	dir := filepath.Dir(path)
	if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory that exists: create it, or point --db at a file in an existing directory: %w", dir, err)
	}
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory: point --db at a file: %w", path, err)
	}
	if problem := access(path); problem != "" {
		return fmt.Errorf("the database file %s %s this user: make it readable and writable by the user clerk-sync runs as "+
			"(chown, chmod u+rw), or point --db at another file: %w", path, problem, err)
	}
	f, terr := os.CreateTemp(dir, ".clerk-sync-*")
	if terr != nil {
		return fmt.Errorf("the directory %s is not writable by this user, and SQLite creates the database and its -wal and -shm files there: "+
			"make it writable by the user clerk-sync runs as, or point --db at a file in a writable directory: %w", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return err
}

// access says what this user cannot do with the file at path ("cannot be
// read by", "is read-only for"), or "" when it can read and write it or
// it does not exist.
func access(path string) string {
	for _, a := range []struct {
		flag    int
		problem string
	}{{os.O_RDONLY, "cannot be read by"}, {os.O_WRONLY, "is read-only for"}} {
		f, err := os.OpenFile(path, a.flag, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		if err != nil {
			return a.problem
		}
		f.Close()
	}
	return ""
}

// uriPath escapes what a file: URI would read otherwise: SQLite decodes
// %XX, and ? and # end the path.
func uriPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

func (s *Store) migrate(ctx context.Context) error {
	all, err := store.Migrations(migrations, "migrations")
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// BEGIN IMMEDIATE takes the write lock first, so two processes that
	// start together do not both apply the same migration.
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`) //nolint:errcheck // a no-op after COMMIT
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS clerk_sync_migrations (
		version INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM clerk_sync_migrations`).Scan(&current); err != nil {
		return err
	}
	for _, m := range all {
		if m.Version <= current {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO clerk_sync_migrations (version, applied_at) VALUES (?, ?)`,
			m.Version, time.Now().UnixMilli()); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, `COMMIT`)
	return err
}

// Apply implements store.Store.
func (s *Store) Apply(ctx context.Context, d store.Delivery, c store.Change) (store.Outcome, error) {
	return s.queue.Do(ctx, request{delivery: d, change: &c})
}

// Record implements store.Store.
func (s *Store) Record(ctx context.Context, d store.Delivery, o store.Outcome, errMsg string) (store.Outcome, error) {
	return s.queue.Do(ctx, request{delivery: d, outcome: o, errMsg: errMsg})
}

// View reads the users table of a SQLite file that another program — the
// app's own webhook handler — writes: no migration, no writes.
type View struct {
	db    *sql.DB
	path  string
	table *table
}

// OpenView opens the file at path read-only and reads the table that m
// names.
func OpenView(ctx context.Context, path string, m mapping.Mapping) (*View, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	v := &View{db: db, path: path}
	if err := v.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	info, err := inspect(ctx, db, m)
	if err == nil {
		err = mapping.Readable(m, info)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	v.table = newTable(m, info)
	return v, nil
}

// openReadOnly opens the file at path for reading only.
func openReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+uriPath(path)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// Users lists the rows of the users table ordered by the key.
func (v *View) Users(ctx context.Context) ([]store.User, error) { return v.table.users(ctx, v.db) }

// Ping checks that the file can be read.
func (v *View) Ping(ctx context.Context) error {
	if err := v.db.PingContext(ctx); err != nil {
		return fmt.Errorf("open sqlite %s: %w", v.path, classify(err))
	}
	return nil
}

// Close closes the file.
func (v *View) Close() error { return v.db.Close() }

// Rows implements store.Store.
func (s *Store) Rows(ctx context.Context, kind store.Kind) ([]store.User, error) {
	t, ok := s.tables[kind]
	if !ok {
		return nil, fmt.Errorf("list %ss: %w", kind, store.ErrNotKept)
	}
	return t.users(ctx, s.db)
}

// States implements store.Store.
func (s *Store) States(ctx context.Context, kind store.Kind) ([]store.State, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, version, digest, deleted FROM clerk_sync_entities WHERE kind = ? ORDER BY id`, string(kind))
	if err != nil {
		return nil, fmt.Errorf("list %s states: %w", kind, classify(err))
	}
	defer rows.Close()
	var states []store.State
	for rows.Next() {
		st := store.State{Kind: kind}
		if err := rows.Scan(&st.ID, &st.Version, &st.Digest, &st.Deleted); err != nil {
			return nil, fmt.Errorf("list %s states: %w", kind, classify(err))
		}
		states = append(states, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s states: %w", kind, classify(err))
	}
	return states, nil
}

// Delivery implements store.Store.
func (s *Store) Delivery(ctx context.Context, svixID string) (store.Record, error) {
	var (
		r              store.Record
		userID, errMsg sql.NullString
		received       int64
	)
	err := s.db.QueryRowContext(ctx, `
		SELECT svix_id, event_type, user_id, outcome, error, attempts, received_at, payload
		FROM clerk_sync_deliveries WHERE svix_id = ?`, svixID).
		Scan(&r.SvixID, &r.Type, &userID, &r.Outcome, &errMsg, &r.Attempts, &received, &r.Payload)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("delivery %s: %w", svixID, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read delivery: %w", classify(err))
	}
	r.UserID, r.Error = userID.String, errMsg.String
	r.ReceivedAt = time.UnixMilli(received).UTC()
	return r, nil
}

// History implements store.Store.
func (s *Store) History(ctx context.Context, p store.Position, limit int) ([]store.Record, error) {
	at, id := p.Keyset(time.Millisecond) // received_at's precision
	rows, err := s.db.QueryContext(ctx, `
		SELECT svix_id, event_type, coalesce(user_id, ''), outcome, coalesce(error, ''), attempts, received_at, payload
		FROM clerk_sync_deliveries WHERE (received_at, svix_id) < (?, ?)
		ORDER BY received_at DESC, svix_id DESC LIMIT ?`, at.UnixMilli(), id, limit)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", classify(err))
	}
	defer rows.Close()
	var recs []store.Record
	for rows.Next() {
		var (
			rec      store.Record
			received int64
		)
		if err := rows.Scan(&rec.SvixID, &rec.Type, &rec.UserID, &rec.Outcome, &rec.Error, &rec.Attempts, &received, &rec.Payload); err != nil {
			return nil, fmt.Errorf("read history: %w", classify(err))
		}
		rec.ReceivedAt = time.UnixMilli(received).UTC()
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history: %w", classify(err))
	}
	return recs, nil
}

// Ping implements store.Store: it answers nil only when a delivery can be
// applied, so it commits a small write through the writer, as a delivery
// would. A read-only file, a full disk or a lost writer fail it.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.queue.Do(ctx, request{probe: true}); err != nil {
		return fmt.Errorf("ping sqlite %s: cannot write: %w", s.path, err)
	}
	return nil
}

// Close stops the writer after the deliveries already queued, then closes
// the file.
func (s *Store) Close() error {
	s.queue.Close()
	s.closeOnce.Do(func() { s.closeErr = errors.Join(s.writer.close(), s.db.Close()) })
	return s.closeErr
}

// classify translates a SQLite error into the store's vocabulary: a busy
// or locked database, I/O, a full disk and a read-only file may pass;
// anything else is the database refusing the change.
func classify(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_INTERRUPT:
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %v", store.ErrPermanent, err)
	}
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrPermanent) {
		return err
	}
	return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
}
