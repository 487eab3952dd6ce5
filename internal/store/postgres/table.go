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
	selectSQL string
	fn        function // set by setFunction; a view has none
	bulkSQL   string   // set by setFunction: ApplyAll's statement
}

// function is the generated apply function of one table in one schema.
type function struct {
	name      string // "schema".clerk_sync_apply_<hash of its SQL>
	signature string // name(text, …), for to_regprocedure
	source    string // the body, as pg_proc.prosrc keeps it
	create    string // CREATE FUNCTION …
	applySQL  string // SELECT name($1::text, …)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// duplicateChange is the SQLSTATE that the apply function raises when a
// done svix-id came back with a change that would be applied: the raise
// undoes it, and the delivery is a duplicate.
const duplicateChange = "CSDUP"

func newTable(m mapping.Mapping, info mapping.TableInfo) *table {
	q := mapping.Quote
	typeOf := func(col string) string {
		c, _ := info.Column(col)
		return c.Type
	}
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
	return &table{m: m, info: info, selectSQL: fmt.Sprintf(`SELECT %s FROM %s WHERE %s IS NOT NULL ORDER BY %s COLLATE "C"`,
		strings.Join(sel, ", "), m.QualifiedName(), q(m.Key), q(m.Key))}
}

// The apply function's parameters, in order. The statements on the app's
// table name them by position ($3), never by name: a column of the app's
// may be called anything, p_id included.
const params = `
    p_svix_id TEXT, p_type TEXT, p_id TEXT, p_version BIGINT, p_digest BIGINT, p_deleted BOOLEAN,
    p_received_at TIMESTAMPTZ, p_payload BYTEA, p_pk TEXT, p_v TEXT[], p_user_id TEXT,
    p_parent_kinds TEXT[], p_parent_ids TEXT[]
`

// paramTypes are the types of params, as the call casts its arguments so
// that no other overload of the name can be chosen.
var paramTypes = []string{"text", "text", "text", "bigint", "bigint", "boolean", "timestamptz", "bytea", "text", "text[]", "text", "text[]", "text[]"}

// setFunction generates the apply function of the table's kind in schema,
// where the bookkeeping tables are. The rules are the same for every
// kind: this one template, with the kind's table statements in it.
// children are the tables of the kinds whose entities belong to this
// kind's: a deletion removes their rows too.
func (t *table) setFunction(schema string, children []*table) {
	q := mapping.Quote
	entities, links, deliveries := q(schema)+".clerk_sync_entities", q(schema)+".clerk_sync_links", q(schema)+".clerk_sync_deliveries"
	kind := t.m.EntityKind()
	var onDelete strings.Builder
	if kind == store.KindUser {
		// The user's stored bodies hold what the delete erases.
		fmt.Fprintf(&onDelete, `
            UPDATE %s SET payload = '' WHERE user_id = p_id AND octet_length(payload) > 0;`, deliveries)
	}
	if len(kind.Children()) > 0 {
		// The children's rows are removed by dynamic statements: they name
		// the app's columns, which no variable of ours may shadow.
		var cases strings.Builder
		for _, c := range children {
			fmt.Fprintf(&cases, `
                        WHEN %s THEN EXECUTE %s USING NULL::text, NULL::text, v_child.id, p_version;`,
				literal(string(c.m.EntityKind())), literal(c.removeSQL()))
		}
		remove := ""
		if cases.Len() > 0 {
			remove = fmt.Sprintf(`
                IF FOUND THEN
                    CASE v_child.kind%s
                        ELSE NULL;
                    END CASE;
                END IF;`, cases.String())
		}
		// The children, tombstoned now or before, need no links any more:
		// theirs to every parent go, as the index on (kind, id) finds them.
		fmt.Fprintf(&onDelete, `
            FOR v_child IN SELECT l.kind, l.id FROM %[1]s AS l WHERE l.parent_kind = %[3]s AND l.parent_id = p_id ORDER BY l.kind, l.id COLLATE "C" LOOP
                INSERT INTO %[2]s AS s (kind, id, version, digest, deleted)
                VALUES (v_child.kind, v_child.id, p_version, 0, true)
                ON CONFLICT (kind, id) DO UPDATE
                    SET deleted = true, version = excluded.version, digest = excluded.digest, changed_at = now()
                    WHERE NOT s.deleted;%[4]s
            END LOOP;
            DELETE FROM %[1]s AS l WHERE (l.kind, l.id) IN (
                SELECT c.kind, c.id FROM %[1]s AS c WHERE c.parent_kind = %[3]s AND c.parent_id = p_id);`, links, entities, literal(string(kind)), remove)
	}
	if kind.IsChild() {
		// A deleted child is never linked again: its links go.
		fmt.Fprintf(&onDelete, `
            DELETE FROM %s AS l WHERE l.kind = %s AND l.id = p_id;`, links, literal(string(kind)))
	}
	code := fmt.Sprintf(`
#variable_conflict use_column
DECLARE
    v_outcome TEXT := 'stale';
    v_payload BYTEA := p_payload;
    v_gone BOOLEAN := false;
    v_child RECORD;
BEGIN
    IF p_deleted THEN
        INSERT INTO %[1]s AS s (kind, id, version, digest, deleted)
        VALUES (%[7]s, p_id, p_version, p_digest, true)
        ON CONFLICT (kind, id) DO UPDATE
            SET deleted = true, version = excluded.version, digest = excluded.digest, changed_at = now()
            WHERE NOT s.deleted;
        IF FOUND THEN
            v_outcome := 'applied';%[8]s
            -- Its children's rows went first: a foreign key from theirs
            -- to its row (ON DELETE RESTRICT) lets it go now.
            %[3]s;
        END IF;
    ELSE
        IF p_parent_ids IS NOT NULL THEN
            -- The parents' bookkeeping rows, made if need be, are locked
            -- first: a parent's deletion on another replica then waits for
            -- this change and removes it, or this change sees the tombstone.
            INSERT INTO %[1]s AS s (kind, id, version)
            SELECT u.k, u.i, 0 FROM unnest(p_parent_kinds, p_parent_ids) AS u(k, i) ORDER BY u.k, u.i COLLATE "C"
            ON CONFLICT (kind, id) DO NOTHING;
            SELECT bool_or(s.deleted) INTO v_gone FROM (
                SELECT s.deleted FROM %[1]s AS s
                WHERE (s.kind, s.id) IN (SELECT u.k, u.i FROM unnest(p_parent_kinds, p_parent_ids) AS u(k, i))
                ORDER BY s.kind, s.id COLLATE "C" FOR SHARE) AS s;
        END IF;
        IF NOT coalesce(v_gone, false) THEN
            INSERT INTO %[1]s AS s (kind, id, version, digest)
            VALUES (%[7]s, p_id, p_version, p_digest)
            ON CONFLICT (kind, id) DO UPDATE
                SET version = excluded.version, digest = excluded.digest, changed_at = now()
                WHERE NOT s.deleted AND (s.version, s.digest) < (excluded.version, excluded.digest);
            IF FOUND THEN
                v_outcome := 'applied';
                %[4]s;
                IF p_parent_ids IS NOT NULL THEN
                    INSERT INTO %[6]s (parent_kind, parent_id, kind, id)
                    SELECT u.k, u.i, %[7]s, p_id FROM unnest(p_parent_kinds, p_parent_ids) AS u(k, i)
                    ON CONFLICT DO NOTHING;
                END IF;
            END IF;
        END IF;
    END IF;

    IF v_outcome <> 'applied' AND p_user_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM %[1]s AS s WHERE s.kind = 'user' AND s.id = p_user_id AND s.deleted) THEN
        v_payload := ''; -- a late event of a deleted user: its data is not kept
    END IF;

    IF p_svix_id IS NULL THEN
        RETURN v_outcome; -- a change read from the Backend API: no delivery to record
    END IF;

    INSERT INTO %[2]s AS d (svix_id, event_type, user_id, outcome, received_at, payload)
    VALUES (p_svix_id, p_type, p_user_id, v_outcome, p_received_at, v_payload)
    ON CONFLICT (svix_id) DO UPDATE
        SET event_type = excluded.event_type, user_id = excluded.user_id, outcome = excluded.outcome,
            error = NULL, attempts = d.attempts + 1, received_at = excluded.received_at, payload = excluded.payload
        WHERE d.outcome IN ('failed', 'rejected');
    IF NOT FOUND THEN
        -- A done svix-id: a different body under it must change nothing.
        IF v_outcome = 'applied' THEN
            RAISE EXCEPTION 'svix-id %% is already done', p_svix_id USING ERRCODE = '%[5]s';
        END IF;
        RETURN 'duplicate';
    END IF;
    RETURN v_outcome;
END
`, entities, deliveries, t.removeSQL(), t.upsertSQL(), duplicateChange, links, literal(string(kind)), onDelete.String())
	// The body is dollar-quoted; identifiers from the mapping file may hold
	// any text, so the tag is one that the body does not contain.
	tag := "$clerk_sync$"
	for strings.Contains(code, tag) {
		tag = tag[:len(tag)-1] + "_$"
	}
	body := "(" + params + ") RETURNS TEXT LANGUAGE plpgsql AS " + tag + code + tag
	sum := sha256.Sum256([]byte(body))
	name := q(schema) + ".clerk_sync_apply_" + hex.EncodeToString(sum[:6])
	args := make([]string, len(paramTypes))
	for i, typ := range paramTypes {
		args[i] = fmt.Sprintf("$%d::%s", i+1, typ)
	}
	t.fn = function{
		name:      name,
		signature: name + "(" + strings.Join(paramTypes, ", ") + ")",
		source:    code,
		create:    "CREATE FUNCTION " + name + body,
		applySQL:  "SELECT " + name + "(" + strings.Join(args, ", ") + ")",
	}
}

// setBulk generates ApplyAll's statement for the table's kind: the rules
// of the apply function for changes that are not deletions and have no
// parents, for a whole page at once. $1 the Clerk ids, $2 the versions,
// $3 the digests, $4 the primary keys, then one array per mapped column.
// The bookkeeping rows are locked in the ids' byte order (COLLATE "C",
// whatever the database's collation), as the group commit sorts them
// (strings.Compare), so the two cannot deadlock.
func (t *table) setBulk(schema string) {
	q, m := mapping.Quote, t.m
	entities := q(schema) + ".clerk_sync_entities"
	cols := []string{"id", "version", "digest", "pk"}
	arrays := []string{"$1::text[]", "$2::bigint[]", "$3::bigint[]", "$4::text[]"}
	for i := range m.Columns {
		cols, arrays = append(cols, fmt.Sprintf("c%d", i+1)), append(arrays, fmt.Sprintf("$%d::text[]", i+5))
	}
	targets, values, conflict := t.insertParts("input.pk", "input.id", func(i int) string { return fmt.Sprintf("input.c%d", i+1) }, " ")
	t.bulkSQL = fmt.Sprintf(`
WITH input AS (
    SELECT * FROM unnest(%[1]s) AS u(%[2]s)
), advanced AS (
    INSERT INTO %[3]s AS s (kind, id, version, digest)
    SELECT %[4]s, input.id, input.version, input.digest FROM input ORDER BY input.id COLLATE "C"
    ON CONFLICT (kind, id) DO UPDATE
        SET version = excluded.version, digest = excluded.digest, changed_at = now()
        WHERE NOT s.deleted AND (s.version, s.digest) < (excluded.version, excluded.digest)
    RETURNING s.id
), written AS (
    INSERT INTO %[5]s (%[6]s)
    SELECT %[7]s FROM input JOIN advanced ON advanced.id = input.id ORDER BY input.id COLLATE "C"
    ON CONFLICT (%[8]s) %[9]s
)
SELECT advanced.id FROM advanced`,
		strings.Join(arrays, ", "), strings.Join(cols, ", "), entities, literal(string(m.EntityKind())),
		m.QualifiedName(), strings.Join(targets, ", "), strings.Join(values, ", "), q(m.Key), conflict)
}

// row is what c writes into the table: the primary key when the mapping
// fills it (nil when the key column is the primary key, or when the
// database fills it), and each mapped column's value as text.
func (t *table) row(c *store.Change) (pk *string, vals []*string) {
	if t.m.HasID() && t.m.IDFill != mapping.FillDefault {
		id := t.m.NewID(c.ID)
		pk = &id
	}
	vals = make([]*string, len(t.m.Columns))
	for i, col := range t.m.Columns {
		vals[i] = text(mapping.Value(col.Field, c))
	}
	return pk, vals
}

// bulkArgs are ApplyAll's arguments for cs.
func (t *table) bulkArgs(cs []store.Change) []any {
	n := len(t.m.Columns)
	ids, pks := make([]string, len(cs)), make([]*string, len(cs))
	versions, digests := make([]int64, len(cs)), make([]int64, len(cs))
	vals := make([][]*string, n)
	for i := range vals {
		vals[i] = make([]*string, len(cs))
	}
	for i := range cs {
		c := &cs[i]
		ids[i], versions[i], digests[i] = c.ID, c.Version, c.Digest
		var row []*string
		pks[i], row = t.row(c)
		for j, v := range row {
			vals[j][i] = v
		}
	}
	args := []any{ids, versions, digests, pks}
	for _, v := range vals {
		args = append(args, v)
	}
	return args
}

// literal is s as an SQL string literal, the same whatever
// standard_conforming_strings says.
func literal(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// cast is the value expr for column col: cast to the column's type
// without its modifiers, so that storing it works as an INSERT of the
// text would (a value too long is refused, never cut; a time is rounded
// to the column's precision).
func (t *table) cast(expr, col string) string {
	if c, _ := t.info.Column(col); c.Base != "pg_catalog.text" && c.Base != "" {
		return fmt.Sprintf("CAST(%s AS %s)", expr, c.Base)
	}
	return expr
}

// upsertSQL writes the entity's row from the parameters: $3 the Clerk id,
// $9 the primary key, $10 the mapped values.
func (t *table) upsertSQL() string {
	cols, vals, conflict := t.insertParts("$9", "$3", func(i int) string { return fmt.Sprintf("$10[%d]", i+1) }, "\n                ")
	return fmt.Sprintf("INSERT INTO %s (%s)\n            VALUES (%s)\n            ON CONFLICT (%s) %s",
		t.m.QualifiedName(), strings.Join(cols, ", "), strings.Join(vals, ", "), mapping.Quote(t.m.Key), conflict)
}

// insertParts are the columns, the values (pk, key and column(i) cast to
// each column's type) and the ON CONFLICT action of an upsert of the
// table's row; sep separates the SET clauses.
func (t *table) insertParts(pk, key string, column func(i int) string, sep string) (cols, vals []string, conflict string) {
	q, m := mapping.Quote, t.m
	if m.HasID() && m.IDFill != mapping.FillDefault {
		cols, vals = append(cols, q(m.ID)), append(vals, t.cast(pk, m.ID))
	}
	cols, vals = append(cols, q(m.Key)), append(vals, t.cast(key, m.Key))
	var sets []string
	for i, c := range m.Columns {
		cols, vals = append(cols, q(c.Name)), append(vals, t.cast(column(i), c.Name))
		sets = append(sets, fmt.Sprintf("%s = excluded.%s", q(c.Name), q(c.Name)))
	}
	conflict = "DO NOTHING"
	if len(sets) > 0 {
		conflict = "DO UPDATE SET" + sep + strings.Join(sets, ","+sep)
	}
	return cols, vals, conflict
}

// removeSQL deletes the user's row ($3), or marks it deleted at the
// version ($4, Unix ms).
func (t *table) removeSQL() string {
	q, m := mapping.Quote, t.m
	if m.OnDelete != store.SoftDelete {
		return fmt.Sprintf("DELETE FROM %s AS t WHERE t.%s = $3", m.QualifiedName(), q(m.Key))
	}
	// Check saw that the column holds m.DeleteAs.
	at := "true"
	if m.DeleteAs == mapping.Time {
		at = "(to_timestamp($4 / 1000.0) AT TIME ZONE 'UTC')"
		if c, _ := t.info.Column(m.DeleteColumn); strings.Contains(c.Type, "with time zone") {
			at = "to_timestamp($4 / 1000.0)"
		}
	}
	return fmt.Sprintf("UPDATE %s AS t SET %s = %s WHERE t.%s = $3", m.QualifiedName(), q(m.DeleteColumn), at, q(m.Key))
}

// args are the arguments of the apply function for one delivery.
func (t *table) args(d store.Delivery, c *store.Change) []any {
	var (
		id   *string
		vals []*string
	)
	if !c.Deleted {
		id, vals = t.row(c)
	}
	var user *string
	if d.UserID != "" {
		user = &d.UserID
	}
	var parentKinds, parentIDs []string
	for _, p := range c.Parents {
		parentKinds, parentIDs = append(parentKinds, string(p.Kind)), append(parentIDs, p.ID)
	}
	var svixID *string // none for a change from the Backend API: no ledger row
	if d.SvixID != "" {
		svixID = &d.SvixID
	}
	return []any{svixID, d.Type, c.ID, c.Version, c.Digest, c.Deleted, d.ReceivedAt, d.Payload, id, vals, user, parentKinds, parentIDs}
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
		SELECT a.attname, format_type(a.atttypid, a.atttypmod), format('%I.%I', tn.nspname, ty.typname), a.attnotnull,
			a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', a.attgenerated <> '' OR a.attidentity = 'a'
		FROM pg_attribute a
		JOIN pg_type ty ON ty.oid = a.atttypid
		JOIN pg_namespace tn ON tn.oid = ty.typnamespace
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
	rows, err = db.Query(ctx, `
		SELECT array_agg(a.attname::text ORDER BY k.ord), c.confrelid::regclass::text
		FROM pg_constraint c
		CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
		WHERE c.conrelid = to_regclass($1) AND c.contype = 'f'
		GROUP BY c.oid, c.confrelid ORDER BY 1`, m.QualifiedName())
	if err != nil {
		return info, classify("inspect the users table", err)
	}
	info.ForeignKeys, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (mapping.ForeignKey, error) {
		var fk mapping.ForeignKey
		return fk, r.Scan(&fk.Columns, &fk.Table)
	})
	if err != nil {
		return info, classify("inspect the users table", err)
	}
	return info, nil
}
