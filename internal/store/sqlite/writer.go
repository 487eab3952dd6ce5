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
		INSERT INTO clerk_sync_users (user_id, version, digest, deleted, changed_at) VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (user_id) DO UPDATE
			SET deleted = 1, version = excluded.version, digest = excluded.digest, changed_at = excluded.changed_at
			WHERE NOT deleted`
	sqlAdvance = `
		INSERT INTO clerk_sync_users (user_id, version, digest, deleted, changed_at) VALUES (?, ?, ?, 0, ?)
		ON CONFLICT (user_id) DO UPDATE
			SET version = excluded.version, digest = excluded.digest, changed_at = excluded.changed_at
			WHERE NOT deleted AND (version, digest) < (excluded.version, excluded.digest)`
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
	conn  *sql.Conn
	table *table
	// delivered is when a batch with deliveries was last committed (Unix
	// ns): Prune gives way while the writer is busy with them.
	delivered atomic.Int64
	// scrubbed says that the batch being committed erased a user's data,
	// which the write-ahead log still holds: onErase then has the log
	// emptied soon.
	scrubbed bool
	onErase  func()

	stmt     struct{ tombstone, advance, remove, upsert, record, probe, scrub, tombstoned *sql.Stmt }
	prepared []*sql.Stmt // all of stmt, to close
}

// newWriter prepares the statements on a connection of its own, closed
// with the database.
func newWriter(ctx context.Context, db *sql.DB, t *table) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, table: t}
	for p, q := range map[**sql.Stmt]string{
		&w.stmt.tombstone: sqlTombstone, &w.stmt.advance: sqlAdvance, &w.stmt.remove: t.remove,
		&w.stmt.upsert: t.upsert, &w.stmt.record: sqlRecord, &w.stmt.probe: sqlProbe, &w.stmt.scrub: sqlScrubUser,
		&w.stmt.tombstoned: `SELECT 1 FROM clerk_sync_users WHERE user_id = ? AND deleted`,
	} {
		if *p, err = conn.PrepareContext(ctx, q); err != nil {
			w.close() //nolint:errcheck // the prepare error is the one to report
			return nil, err
		}
		w.prepared = append(w.prepared, *p)
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

func (w *writer) apply(ctx context.Context, d store.Delivery, c store.Change) (store.Outcome, error) {
	now := time.Now().UnixMilli()
	outcome := store.Stale
	if c.Deleted {
		res, err := w.stmt.tombstone.ExecContext(ctx, c.UserID, c.Version, c.Digest, now)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			outcome = store.Applied
			if _, err := w.stmt.remove.ExecContext(ctx, w.table.removeArgs(&c)...); err != nil {
				return "", err
			}
			if _, err := w.stmt.scrub.ExecContext(ctx, c.UserID); err != nil {
				return "", err
			}
			w.scrubbed = true
		}
	} else {
		res, err := w.stmt.advance.ExecContext(ctx, c.UserID, c.Version, c.Digest, now)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			outcome = store.Applied
			if _, err := w.stmt.upsert.ExecContext(ctx, w.table.upsertArgs(&c)...); err != nil {
				return "", err
			}
		} else if err := w.stmt.tombstoned.QueryRowContext(ctx, c.UserID).Scan(new(int)); err == nil {
			// A late event of a deleted user: its data is not kept.
			d.Payload = []byte{}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	if d.SvixID == "" {
		return outcome, nil // a change read from the Backend API: no delivery to record
	}
	return w.record(ctx, d, outcome, "")
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
