package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// table is the users table as the mapping writes it. Each delivery is one
// call of a plpgsql function generated from the mapping and the table's
// real column types: it takes the user's bookkeeping row lock first, then
// writes the user row, so every statement after the lock sees what the
// last writer of that user committed, whatever other replicas do.
type table struct {
	m         mapping.Mapping
	info      mapping.TableInfo // the table as the database declared it
	fn        string            // the function's name: clerk_sync_apply_<hash of its SQL>
	signature string            // fn(text, …), for to_regprocedure
	create    string            // CREATE OR REPLACE FUNCTION …
	applySQL  string            // SELECT fn($1, …)
	selectSQL string
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func newTable(m mapping.Mapping, info mapping.TableInfo) *table {
	q := mapping.Quote
	name := m.QualifiedName()
	typeOf := func(col string) string {
		c, _ := info.Column(col)
		return c.Type
	}
	// Casting to the type without its length lets the column refuse a
	// value too long (a permanent error), where CAST(… AS varchar(30))
	// would cut it.
	cast := func(expr, col string) string {
		if c, _ := info.Column(col); c.Base != "text" && c.Base != "" {
			return fmt.Sprintf("CAST(%s AS %s)", expr, c.Base)
		}
		return expr
	}
	var cols, vals, sets []string
	if m.HasID() && m.IDFill != mapping.FillDefault {
		cols, vals = append(cols, q(m.ID)), append(vals, cast("p_id", m.ID))
	}
	cols, vals = append(cols, q(m.Key)), append(vals, cast("p_user_id", m.Key))
	for i, c := range m.Columns {
		cols, vals = append(cols, q(c.Name)), append(vals, cast(fmt.Sprintf("p_v[%d]", i+1), c.Name))
		sets = append(sets, fmt.Sprintf("%s = excluded.%s", q(c.Name), q(c.Name)))
	}
	conflict := "DO NOTHING"
	if len(sets) > 0 {
		conflict = "DO UPDATE SET\n                " + strings.Join(sets, ",\n                ")
	}
	upsert := fmt.Sprintf("INSERT INTO %s (%s)\n            VALUES (%s)\n            ON CONFLICT (%s) %s",
		name, strings.Join(cols, ", "), strings.Join(vals, ", "), q(m.Key), conflict)
	remove := fmt.Sprintf("DELETE FROM %s WHERE %s = p_user_id", name, q(m.Key))
	if m.OnDelete == store.SoftDelete {
		// Check saw that the column holds m.DeleteAs.
		at := "true"
		if m.DeleteAs == mapping.Time {
			at = "(to_timestamp(p_version / 1000.0) AT TIME ZONE 'UTC')"
			if strings.Contains(typeOf(m.DeleteColumn), "with time zone") {
				at = "to_timestamp(p_version / 1000.0)"
			}
		}
		remove = fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = p_user_id", name, q(m.DeleteColumn), at, q(m.Key))
	}
	code := fmt.Sprintf(`
DECLARE
    v_outcome TEXT := 'stale';
    v_payload BYTEA := p_payload;
BEGIN
    IF p_deleted THEN
        INSERT INTO clerk_sync_users AS s (user_id, version, deleted)
        VALUES (p_user_id, p_version, true)
        ON CONFLICT (user_id) DO UPDATE
            SET deleted = true, version = excluded.version, changed_at = now()
            WHERE NOT s.deleted;
        IF FOUND THEN
            v_outcome := 'applied';
            %s;
            -- The user's stored bodies hold what the delete erases.
            UPDATE clerk_sync_deliveries SET payload = ''
            WHERE user_id = p_user_id AND octet_length(payload) > 0;
        END IF;
    ELSE
        INSERT INTO clerk_sync_users AS s (user_id, version)
        VALUES (p_user_id, p_version)
        ON CONFLICT (user_id) DO UPDATE
            SET version = excluded.version, changed_at = now()
            WHERE NOT s.deleted AND s.version < excluded.version;
        IF FOUND THEN
            v_outcome := 'applied';
            %s;
        ELSIF EXISTS (SELECT 1 FROM clerk_sync_users WHERE user_id = p_user_id AND deleted) THEN
            v_payload := ''; -- a late event of a deleted user: its data is not kept
        END IF;
    END IF;

    -- A done svix-id is a duplicate. Its version is the one already applied
    -- (or older), so the statements above changed nothing.
    INSERT INTO clerk_sync_deliveries AS d (svix_id, event_type, user_id, outcome, received_at, payload)
    VALUES (p_svix_id, p_type, p_user_id, v_outcome, p_received_at, v_payload)
    ON CONFLICT (svix_id) DO UPDATE
        SET event_type = excluded.event_type, user_id = excluded.user_id, outcome = excluded.outcome,
            error = NULL, attempts = d.attempts + 1, received_at = excluded.received_at, payload = excluded.payload
        WHERE d.outcome IN ('failed', 'rejected');
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    RETURN v_outcome;
END
`, remove, upsert)
	// The body is dollar-quoted; identifiers from the mapping file may hold
	// any text, so the tag is one that the body does not contain.
	tag := "$clerk_sync$"
	for strings.Contains(code, tag) {
		tag = tag[:len(tag)-1] + "_$"
	}
	body := fmt.Sprintf(`(
    p_svix_id TEXT, p_type TEXT, p_user_id TEXT, p_version BIGINT, p_deleted BOOLEAN,
    p_received_at TIMESTAMPTZ, p_payload BYTEA, p_id TEXT, p_v TEXT[]
) RETURNS TEXT LANGUAGE plpgsql AS %s%s%s`, tag, code, tag)

	sum := sha256.Sum256([]byte(body))
	t := &table{m: m, info: info, fn: "clerk_sync_apply_" + hex.EncodeToString(sum[:6])}
	t.create = "CREATE OR REPLACE FUNCTION " + t.fn + body
	t.signature = t.fn + "(text, text, text, bigint, boolean, timestamptz, bytea, text, text[])"
	t.applySQL = "SELECT " + t.fn + "($1, $2, $3, $4, $5, $6, $7, $8, $9)"

	read := func(col string, k mapping.Kind) string {
		if k == mapping.Time && strings.HasPrefix(typeOf(col), "timestamp") {
			return fmt.Sprintf("(extract(epoch FROM %s) * 1000)::bigint::text", q(col))
		}
		return q(col) + "::text"
	}
	pk := m.Key
	if m.HasID() {
		pk = m.ID
	}
	sel := []string{q(pk) + "::text", q(m.Key) + "::text"}
	for _, c := range m.Columns {
		sel = append(sel, read(c.Name, c.As))
	}
	if _, ok := info.Column(m.DeleteColumn); ok && m.DeleteColumn != "" {
		sel = append(sel, read(m.DeleteColumn, m.DeleteAs))
	} else {
		sel = append(sel, "NULL")
	}
	// Rows without a Clerk id are the app's own (users from before Clerk).
	t.selectSQL = fmt.Sprintf(`SELECT %s FROM %s WHERE %s IS NOT NULL ORDER BY %s COLLATE "C"`,
		strings.Join(sel, ", "), name, q(m.Key), q(m.Key))
	return t
}

// args are the arguments of the apply function for one delivery.
func (t *table) args(d store.Delivery, c *store.Change) []any {
	var id *string
	if !c.Deleted && t.m.HasID() && t.m.IDFill != mapping.FillDefault {
		s := t.m.NewID(c.UserID)
		id = &s
	}
	var vals []*string
	if !c.Deleted {
		vals = make([]*string, len(t.m.Columns))
		for i, col := range t.m.Columns {
			vals[i] = text(mapping.Value(col.Field, c))
		}
	}
	return []any{d.SvixID, d.Type, c.UserID, c.Version, c.Deleted, d.ReceivedAt, d.Payload, id, vals}
}

// text is v as the function's text argument, which it casts to the
// column's type.
func text(v any) *string {
	var s string
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		s = v
	case time.Time:
		s = mapping.TimeText(v)
	case bool:
		s = strconv.FormatBool(v)
	case json.RawMessage:
		s = string(v)
	}
	return &s
}

// users reads the table through the mapping.
func (t *table) users(ctx context.Context, db querier) ([]store.User, error) {
	rows, err := db.Query(ctx, t.selectSQL)
	if err != nil {
		return nil, classify("list users", err)
	}
	n := len(t.m.Columns)
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) {
		var id, key string
		vals := make([]*string, n+1)
		dest := []any{&id, &key}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := r.Scan(dest...); err != nil {
			return store.User{}, err
		}
		raw := make([]any, n+1)
		for i, v := range vals {
			if v != nil {
				raw[i] = *v
			}
		}
		u, err := t.m.User(id, key, raw[:n], raw[n])
		if err != nil {
			return u, badRow{fmt.Errorf("%s: %w", key, err)}
		}
		return u, nil
	})
	if bad := (badRow{}); errors.As(err, &bad) {
		return nil, fmt.Errorf("list users: %w", bad.err) // the database answered; a value did not fit
	}
	if err != nil {
		return nil, classify("list users", err)
	}
	return users, nil
}

// badRow is a row whose value the mapping cannot read.
type badRow struct{ err error }

func (b badRow) Error() string { return b.err.Error() }

// inspect reads how the database declares the mapping's table.
func inspect(ctx context.Context, db querier, m mapping.Mapping) (mapping.TableInfo, error) {
	var info mapping.TableInfo
	rows, err := db.Query(ctx, `
		SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), a.attnotnull,
			a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', a.attgenerated <> '' OR a.attidentity = 'a'
		FROM pg_attribute a
		WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, m.QualifiedName())
	if err != nil {
		return info, classify("inspect the users table", err)
	}
	info.Columns, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (mapping.ColumnInfo, error) {
		var c mapping.ColumnInfo
		err := r.Scan(&c.Name, &c.Type, &c.Base, &c.NotNull, &c.Default, &c.Generated)
		return c, err
	})
	if err != nil {
		return info, classify("inspect the users table", err)
	}
	info.Exists = len(info.Columns) > 0
	rows, err = db.Query(ctx, `
		SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord)
		FROM pg_index i
		CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
			AND i.indimmediate AND i.indisvalid -- what ON CONFLICT can use
		GROUP BY i.indexrelid, i.indisprimary`, m.QualifiedName())
	if err != nil {
		return info, classify("inspect the users table", err)
	}
	var (
		primary bool
		cols    []string
	)
	_, err = pgx.ForEachRow(rows, []any{&primary, &cols}, func() error {
		c := slices.Clone(cols)
		if primary {
			info.PrimaryKey = c
		}
		info.Unique = append(info.Unique, c)
		return nil
	})
	if err != nil {
		return info, classify("inspect the users table", err)
	}
	return info, nil
}
