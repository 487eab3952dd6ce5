package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// variant is one way of running the receiver: with its default retention
// (which prunes nothing within a run) or with a short window.
type variant struct {
	name string
	keep store.Retention // zero: nothing pruned within the run
	args []string
}

// variants are the runs that -retention asks for: "" measures the
// receiver as it is; "2s,5s" measures it keeping everything and then
// pruning bodies after 2 s and svix-ids after 5 s, in the same run.
func variants(retention string) ([]variant, error) {
	if retention == "" {
		return []variant{{}}, nil
	}
	bodies, ids, ok := strings.Cut(retention, ",")
	if !ok {
		return nil, fmt.Errorf("-retention %q: want bodies,ids, e.g. 2s,5s", retention)
	}
	var keep store.Retention
	var err error
	if keep.Payloads, err = store.ParseAge(bodies); err != nil {
		return nil, fmt.Errorf("-retention: %w", err)
	}
	if keep.IDs, err = store.ParseAge(ids); err != nil {
		return nil, fmt.Errorf("-retention: %w", err)
	}
	return []variant{
		{name: "keep all", args: []string{"--keep-payloads", "forever", "--keep-ids", "forever"}},
		{name: "prune " + retention, keep: keep,
			args: []string{"--keep-payloads", store.FormatAge(keep.Payloads), "--keep-ids", store.FormatAge(keep.IDs)}},
	}, nil
}

// ledger is the size of the ledger after a run.
type ledger struct {
	rows, bodies int64 // ledger rows; rows that still hold a body
	late         int64 // rows or bodies older than their window
	bytes        int64 // SQLite: the files; PostgreSQL: the table with its indexes and TOAST
}

func (l ledger) String() string {
	return fmt.Sprintf("%d rows, %d bodies, %d past the window, %.1f MB", l.rows, l.bodies, l.late, float64(l.bytes)/1e6)
}

// settle waits, after the last delivery, until what a window allows has
// aged out and the pruner has had time to see it.
func (v variant) settle(ctx context.Context) {
	wait := max(v.keep.Payloads, v.keep.IDs)
	if wait == 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(wait + wait/2 + time.Second):
	}
}

// readLedger measures the ledger of db; late counts what keep says should
// be gone by now.
func readLedger(ctx context.Context, storeName, db string, keep store.Retention) (ledger, error) {
	var l ledger
	cut := keep.Cutoffs(time.Now())
	ms := func(t time.Time) any {
		if t.IsZero() {
			return int64(0)
		}
		return t.UnixMilli()
	}
	if storeName == "postgres" {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return l, err
		}
		defer conn.Close(ctx)
		err = conn.QueryRow(ctx, `
			SELECT count(*), count(*) FILTER (WHERE octet_length(payload) > 0),
				count(*) FILTER (WHERE received_at < to_timestamp($1 / 1000.0)
					OR (octet_length(payload) > 0 AND received_at < to_timestamp($2 / 1000.0))),
				pg_total_relation_size('clerk_sync_deliveries')
			FROM clerk_sync_deliveries`, ms(cut.IDs), ms(cut.Payloads)).Scan(&l.rows, &l.bodies, &l.late, &l.bytes)
		return l, err
	}
	sdb, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		return l, err
	}
	defer sdb.Close()
	err = sdb.QueryRowContext(ctx, `
		SELECT count(*), count(*) FILTER (WHERE length(payload) > 0),
			count(*) FILTER (WHERE received_at < ? OR (length(payload) > 0 AND received_at < ?))
		FROM clerk_sync_deliveries`, ms(cut.IDs), ms(cut.Payloads)).Scan(&l.rows, &l.bodies, &l.late)
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(db + suffix); err == nil {
			l.bytes += fi.Size()
		}
	}
	return l, err
}

// printRetention prints the ledger and the throughput of every run that
// had a variant, so that the cost of pruning reads off one table.
func printRetention(w io.Writer, rs []result) {
	if len(rs) == 0 || rs[0].variant.name == "" {
		return
	}
	fmt.Fprintln(w, "\nretention:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "store\tsenders\tretention\tdeliveries/s\tledger after the run")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%s\n", r.store, r.senders, r.variant.name, r.stats.PerSecond, r.ledger)
	}
	tw.Flush()
}
