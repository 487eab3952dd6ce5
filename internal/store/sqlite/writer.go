package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// The statements of one delivery. A done svix-id needs no look-up first:
// the record, which leaves a done row alone, answers Duplicate, and the
// delivery's savepoint is then rolled back, so that a body sent again
// under a done svix-id changes nothing even when it differs.
const (
	sqlTombstone = `
		INSERT INTO clerk_sync_entities (kind, id, version, digest, deleted, changed_at) VALUES (?, ?, ?, ?, 1, ?)
		ON CONFLICT (kind, id) DO UPDATE
			SET deleted = 1, version = excluded.version, digest = excluded.digest, changed_at = excluded.changed_at
			WHERE NOT deleted`
	sqlAdvance = `
		INSERT INTO clerk_sync_entities (kind, id, version, digest, deleted, changed_at) VALUES (?, ?, ?, ?, 0, ?)
		ON CONFLICT (kind, id) DO UPDATE
			SET version = excluded.version, digest = excluded.digest, changed_at = excluded.changed_at
			WHERE NOT deleted AND (version, digest) < (excluded.version, excluded.digest)`
	sqlTombstoned = `SELECT 1 FROM clerk_sync_entities WHERE kind = ? AND id = ? AND deleted`
	sqlLink       = `INSERT INTO clerk_sync_links (parent_kind, parent_id, kind, id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlChildren   = `SELECT kind, id FROM clerk_sync_links WHERE parent_kind = ? AND parent_id = ?`
	// A deleted entity's links serve nothing more: its children are
	// tombstoned with it, and a tombstoned child is never linked again.
	sqlUnlink = `DELETE FROM clerk_sync_links WHERE (parent_kind = ?1 AND parent_id = ?2) OR (kind = ?1 AND id = ?2)`
	sqlRecord = `
		INSERT INTO clerk_sync_deliveries (svix_id, event_type, user_id, outcome, error, received_at, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (svix_id) DO UPDATE
			SET event_type = excluded.event_type, user_id = excluded.user_id, outcome = excluded.outcome,
				error = excluded.error, attempts = attempts + 1, received_at = excluded.received_at,
				payload = excluded.payload
			WHERE outcome IN ('failed', 'rejected')`
	// sqlProbe changes a page to commit, which a read-only file or a full
	// disk refuses.
	sqlProbe = `UPDATE clerk_sync_probe SET writes = writes + 1`
)

// writer owns the one write connection and its prepared statements.
type writer struct {
	conn   *sql.Conn
	tables map[store.Kind]*table
	// delivered is when a batch with deliveries was last committed (Unix
	// ns): Prune gives way while the writer is busy with them.
	delivered atomic.Int64
	// scrubbed says that the batch being committed erased a user's data,
	// which the write-ahead log still holds: onErase then has the log
	// emptied soon.
	scrubbed bool
	onErase  func()

	// The rules' statements, the same for every kind.
	stmt struct{ tombstone, advance, tombstoned, link, children, unlink, record, probe, scrub *sql.Stmt }
	// Each kind's table's statements.
	rows     map[store.Kind]struct{ upsert, remove *sql.Stmt }
	prepared []*sql.Stmt // all of them, to close
}

// newWriter prepares the statements on a connection of its own, closed
// with the database.
func newWriter(ctx context.Context, db *sql.DB, tables map[store.Kind]*table) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, tables: tables, rows: map[store.Kind]struct{ upsert, remove *sql.Stmt }{}}
	prepare := func(q string) (*sql.Stmt, error) {
		st, err := conn.PrepareContext(ctx, q)
		if err != nil {
			w.close() //nolint:errcheck // the prepare error is the one to report
			return nil, err
		}
		w.prepared = append(w.prepared, st)
		return st, nil
	}
	for p, q := range map[**sql.Stmt]string{
		&w.stmt.tombstone: sqlTombstone, &w.stmt.advance: sqlAdvance, &w.stmt.tombstoned: sqlTombstoned,
		&w.stmt.link: sqlLink, &w.stmt.children: sqlChildren, &w.stmt.unlink: sqlUnlink,
		&w.stmt.record: sqlRecord, &w.stmt.probe: sqlProbe, &w.stmt.scrub: sqlScrubUser,
	} {
		if *p, err = prepare(q); err != nil {
			return nil, err
		}
	}
	for kind, t := range tables {
		var r struct{ upsert, remove *sql.Stmt }
		if r.upsert, err = prepare(t.upsert); err != nil {
			return nil, err
		}
		if r.remove, err = prepare(t.remove); err != nil {
			return nil, err
		}
		w.rows[kind] = r
	}
	return w, nil
}

// close finalises the statements, then closes the connection: SQLite
// keeps the file open while a statement of it lives.
func (w *writer) close() error {
	var errs []error
	for _, st := range w.prepared {
		errs = append(errs, st.Close())
	}
	return errors.Join(append(errs, w.conn.Close())...)
}

// commit applies a batch in one transaction and answers every request.
func (w *writer) commit(batch []request) []store.Done {
	ctx := context.Background()
	done := make([]store.Done, len(batch))
	if _, err := w.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return failAll(done, fmt.Errorf("begin: %w", classify(err)))
	}
	for i, r := range batch {
		var lost error
		done[i], lost = w.applyOne(ctx, r)
		if lost != nil {
			// SQLite rolled the whole transaction back (a full disk, an I/O
			// error): nothing of the batch is recorded, so every sender
			// must retry.
			w.conn.ExecContext(ctx, `ROLLBACK`) //nolint:errcheck // most likely gone already
			return failAll(done, fmt.Errorf("the transaction was lost: %w", classify(lost)))
		}
	}
	if _, err := w.conn.ExecContext(ctx, `COMMIT`); err != nil {
		w.conn.ExecContext(ctx, `ROLLBACK`) //nolint:errcheck // the commit error is what we report
		return failAll(done, fmt.Errorf("commit: %w", classify(err)))
	}
	if slices.ContainsFunc(batch, request.isDelivery) {
		w.delivered.Store(time.Now().UnixNano())
	}
	if w.scrubbed {
		w.scrubbed = false
		w.onErase()
	}
	if slices.ContainsFunc(batch, func(r request) bool { return r.checkpoint }) {
		// secure_delete zeroed the erased bytes in the pages; the log's
		// older copies of those pages go with it. A reader in the way
		// leaves the log for the next checkpoint.
		w.conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`) //nolint:errcheck // best effort, see above
	}
	return done
}

// failAll answers every request of a batch with err.
func failAll(done []store.Done, err error) []store.Done {
	for i := range done {
		done[i] = store.Done{Err: err}
	}
	return done
}

// applyOne runs one request inside a savepoint of the batch transaction.
// lost is set when the savepoint cannot be rolled back or released: the
// batch's transaction is gone.
func (w *writer) applyOne(ctx context.Context, r request) (res store.Done, lost error) {
	if _, err := w.conn.ExecContext(ctx, `SAVEPOINT d`); err != nil {
		return store.Done{}, err
	}
	var (
		o   store.Outcome
		err error
	)
	switch {
	case r.checkpoint: // done after the commit
	case r.probe:
		_, err = w.stmt.probe.ExecContext(ctx)
	case r.prune != nil:
		err = w.prune(ctx, r.prune)
	case r.change != nil:
		o, err = w.apply(ctx, r.delivery, *r.change)
	default:
		o, err = w.record(ctx, r.delivery, r.outcome, r.errMsg)
	}
	if err != nil || (r.change != nil && o == store.Duplicate) {
		if _, rerr := w.conn.ExecContext(ctx, `ROLLBACK TO d`); rerr != nil {
			return store.Done{}, rerr
		}
	}
	if err != nil {
		err = classify(err)
		if r.change != nil && errors.Is(err, store.ErrPermanent) && r.delivery.SvixID == "" {
			o = store.Failed
		} else if r.change != nil && errors.Is(err, store.ErrPermanent) {
			// Keep the failure visible, and replayable, in the ledger; a
			// done svix-id stays done.
			switch ro, rerr := w.record(ctx, r.delivery, store.Failed, err.Error()); {
			case rerr != nil:
				rerr = classify(rerr)
				err = fmt.Errorf("%w; recording the failure: %w", err, rerr)
				if errors.Is(rerr, store.ErrPermanent) {
					o = store.Failed // a refusal for good, which a retry does not fix
				}
			case ro == store.Duplicate:
				o, err = store.Duplicate, nil
			default:
				o = store.Failed
			}
		}
	}
	if _, rerr := w.conn.ExecContext(ctx, `RELEASE d`); rerr != nil {
		return store.Done{}, rerr
	}
	return store.Done{Outcome: o, Err: err}, nil
}

// apply runs the rules for one change, the same for every kind: a
// deletion tombstones the entity, removes its row and does the same to
// its children; any other change applies when its version is newer and
// neither the entity nor a parent is tombstoned.
func (w *writer) apply(ctx context.Context, d store.Delivery, c store.Change) (store.Outcome, error) {
	if _, kept := w.tables[c.Kind]; !kept {
		if d.SvixID == "" {
			return store.Ignored, nil
		}
		return w.record(ctx, d, store.Ignored, "")
	}
	now := time.Now().UnixMilli()
	var (
		applied bool
		err     error
	)
	if c.Deleted {
		applied, err = w.remove(ctx, c.Ref(), c.Version, c.Digest, now)
	} else {
		applied, err = w.upsert(ctx, c, now)
	}
	if err != nil {
		return "", err
	}
	outcome := store.Stale
	if applied {
		outcome = store.Applied
	} else if user := c.UserID(); user != "" {
		// A late event of a deleted user: its data is not kept.
		gone, err := w.tombstoned(ctx, store.Ref{Kind: store.KindUser, ID: user})
		if err != nil {
			return "", err
		}
		if gone {
			d.Payload = []byte{}
		}
	}
	if d.SvixID == "" {
		return outcome, nil // a change read from the Backend API: no delivery to record
	}
	return w.record(ctx, d, outcome, "")
}

// upsert advances the entity's version and writes its row, unless the
// version is not newer or the entity or a parent is tombstoned; it links
// the entity to its parents, whose deletion removes it.
func (w *writer) upsert(ctx context.Context, c store.Change, now int64) (bool, error) {
	for _, p := range c.Parents {
		// A membership of a deleted organization or user is never written.
		if gone, err := w.tombstoned(ctx, p); err != nil || gone {
			return false, err
		}
	}
	res, err := w.stmt.advance.ExecContext(ctx, string(c.Kind), c.ID, c.Version, c.Digest, now)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if _, err := w.rows[c.Kind].upsert.ExecContext(ctx, w.tables[c.Kind].upsertArgs(&c)...); err != nil {
		return false, err
	}
	for _, p := range c.Parents {
		if _, err := w.stmt.link.ExecContext(ctx, string(p.Kind), p.ID, string(c.Kind), c.ID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// remove tombstones the entity at version and, unless it was tombstoned
// already, does the same to each of its children, drops its links, then
// removes its row (hard or soft) — after theirs, so that a foreign key
// from their table to its (ON DELETE RESTRICT) lets it go — and erases a
// user's stored bodies.
func (w *writer) remove(ctx context.Context, e store.Ref, version, digest, now int64) (bool, error) {
	res, err := w.stmt.tombstone.ExecContext(ctx, string(e.Kind), e.ID, version, digest, now)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	children, err := w.children(ctx, e)
	if err != nil {
		return false, err
	}
	for _, child := range children {
		if _, err := w.remove(ctx, child, version, 0, now); err != nil {
			return false, err
		}
	}
	if _, err := w.stmt.unlink.ExecContext(ctx, string(e.Kind), e.ID); err != nil {
		return false, err
	}
	if t, kept := w.tables[e.Kind]; kept {
		if _, err := w.rows[e.Kind].remove.ExecContext(ctx, t.removeArgs(e.ID, version)...); err != nil {
			return false, err
		}
	}
	if e.Kind == store.KindUser {
		if _, err := w.stmt.scrub.ExecContext(ctx, e.ID); err != nil {
			return false, err
		}
		w.scrubbed = true
	}
	return true, nil
}

// tombstoned reports whether the entity is tombstoned.
func (w *writer) tombstoned(ctx context.Context, e store.Ref) (bool, error) {
	err := w.stmt.tombstoned.QueryRowContext(ctx, string(e.Kind), e.ID).Scan(new(int))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// children lists the entities linked to parent.
func (w *writer) children(ctx context.Context, parent store.Ref) ([]store.Ref, error) {
	rows, err := w.stmt.children.QueryContext(ctx, string(parent.Kind), parent.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var refs []store.Ref
	for rows.Next() {
		var r store.Ref
		if err := rows.Scan(&r.Kind, &r.ID); err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}
	return refs, rows.Err()
}

func (w *writer) record(ctx context.Context, d store.Delivery, o store.Outcome, errMsg string) (store.Outcome, error) {
	res, err := w.stmt.record.ExecContext(ctx, d.SvixID, d.Type, nullable(d.UserID), string(o),
		nullable(errMsg), d.ReceivedAt.UnixMilli(), d.Payload)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.Duplicate, nil
	}
	return o, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
