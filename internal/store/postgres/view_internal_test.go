package postgres

import (
	"context"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
)

// A view of someone else's database reads in READ ONLY transactions,
// which hold behind PgBouncer too, where a setting sent at connection
// would be refused.
func TestViewReadsReadOnly(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := Open(ctx, url, mapping.Default()) // makes the users table
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	v, err := OpenView(ctx, url, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var setting string
	err = v.read(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT current_setting('transaction_read_only')`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(&setting); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil || setting != "on" {
		t.Fatalf("transaction_read_only in a view's read: %q, %v; want on", setting, err)
	}
}
