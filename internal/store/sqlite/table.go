package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// table is the users table as the mapping writes it: the statements of
// one delivery, generated once at start-up.
type table struct {
	m         mapping.Mapping
	upsert    string
	remove    string // hard or soft delete, per m.OnDelete
	selectSQL string
}

func newTable(m mapping.Mapping, info mapping.TableInfo) *table {
	q := mapping.Quote
	t := &table{m: m}
	name := q(m.Table)
	var cols, marks, sets []string
	if m.HasID() && m.IDFill != mapping.FillDefault {
		cols, marks = append(cols, q(m.ID)), append(marks, "?")
	}
	cols, marks = append(cols, q(m.Key)), append(marks, "?")
	for _, c := range m.Columns {
		cols, marks = append(cols, q(c.Name)), append(marks, "?")
		sets = append(sets, fmt.Sprintf("%s = excluded.%s", q(c.Name), q(c.Name)))
	}
	conflict := "DO NOTHING"
	if len(sets) > 0 {
		conflict = "DO UPDATE SET " + strings.Join(sets, ", ")
	}
	t.upsert = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) %s",
		name, strings.Join(cols, ", "), strings.Join(marks, ", "), q(m.Key), conflict)
	t.remove = fmt.Sprintf("DELETE FROM %s WHERE %s = ?", name, q(m.Key))
	if m.OnDelete == store.SoftDelete {
		t.remove = fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", name, q(m.DeleteColumn), q(m.Key))
	}
	pk := m.Key
	if m.HasID() {
		pk = m.ID
	}
	sel := []string{"CAST(" + q(pk) + " AS TEXT)", q(m.Key)}
	for _, c := range m.Columns {
		sel = append(sel, q(c.Name))
	}
	if _, ok := info.Column(m.DeleteColumn); ok && m.DeleteColumn != "" {
		sel = append(sel, q(m.DeleteColumn))
	} else {
		sel = append(sel, "NULL")
	}
	// Rows without a Clerk id are the app's own (users from before Clerk).
	t.selectSQL = fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NOT NULL ORDER BY %s", strings.Join(sel, ", "), name, q(m.Key), q(m.Key))
	return t
}

// upsertArgs are the values of the upsert for change c.
func (t *table) upsertArgs(c *store.Change) []any {
	args := make([]any, 0, len(t.m.Columns)+2)
	if t.m.HasID() && t.m.IDFill != mapping.FillDefault {
		args = append(args, t.m.NewID(c.ID))
	}
	args = append(args, c.ID)
	for _, col := range t.m.Columns {
		args = append(args, value(mapping.Value(col.Field, c)))
	}
	return args
}

// removeArgs are the values of the delete of entity id, deleted at
// version (Unix ms).
func (t *table) removeArgs(id string, version int64) []any {
	if t.m.OnDelete != store.SoftDelete {
		return []any{id}
	}
	if t.m.DeleteAs == mapping.Bool { // Check saw that the column holds one
		return []any{1, id}
	}
	return []any{version, id}
}

// value is v as SQLite keeps it the way Prisma does: times as Unix
// milliseconds, booleans as 0 or 1, JSON as text.
func value(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UnixMilli()
	case bool:
		if v {
			return 1
		}
		return 0
	case json.RawMessage:
		return string(v)
	}
	return v
}

// users reads the table through the mapping.
func (t *table) users(ctx context.Context, db *sql.DB) ([]store.User, error) {
	rows, err := db.QueryContext(ctx, t.selectSQL)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", classify(err))
	}
	defer rows.Close()
	var users []store.User
	n := len(t.m.Columns)
	for rows.Next() {
		var id, key string
		vals := make([]any, n+1)
		dest := []any{&id, &key}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list users: %w", classify(err))
		}
		u, err := t.m.User(id, key, vals[:n], vals[n])
		if err != nil {
			return nil, fmt.Errorf("list users: %s: %w", key, err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", classify(err))
	}
	return users, nil
}

// inspect reads how the database declares the mapping's table.
func inspect(ctx context.Context, db *sql.DB, m mapping.Mapping) (mapping.TableInfo, error) {
	var info mapping.TableInfo
	rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value IS NOT NULL, pk FROM pragma_table_info(?)`, m.Table)
	if err != nil {
		return info, classify(err)
	}
	defer rows.Close()
	pkAt := map[int]int{} // position in the primary key → index in info.Columns
	for rows.Next() {
		var (
			c  mapping.ColumnInfo
			pk int
		)
		if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.Default, &pk); err != nil {
			return info, classify(err)
		}
		if pk > 0 {
			pkAt[pk] = len(info.Columns)
		}
		info.Columns = append(info.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return info, classify(err)
	}
	info.Exists = len(info.Columns) > 0
	for i := 1; i <= len(pkAt); i++ {
		info.PrimaryKey = append(info.PrimaryKey, info.Columns[pkAt[i]].Name)
	}
	// An INTEGER PRIMARY KEY is the rowid: SQLite fills it.
	if len(pkAt) == 1 {
		if c := &info.Columns[pkAt[1]]; strings.EqualFold(c.Type, "INTEGER") {
			c.Default = true
			info.Unique = append(info.Unique, []string{c.Name})
		}
	}
	names, err := queryStrings(ctx, db, `SELECT name FROM pragma_index_list(?) WHERE "unique" AND NOT partial`, m.Table)
	if err != nil {
		return info, err
	}
	for _, name := range names {
		cols, err := queryStrings(ctx, db, `SELECT coalesce(name, '') FROM pragma_index_info(?) ORDER BY seqno`, name)
		if err != nil {
			return info, err
		}
		info.Unique = append(info.Unique, cols)
	}
	fks, err := db.QueryContext(ctx, `SELECT id, "table", "from" FROM pragma_foreign_key_list(?) ORDER BY id, seq`, m.Table)
	if err != nil {
		return info, classify(err)
	}
	defer fks.Close()
	for last := -1; fks.Next(); {
		var (
			id        int
			ref, from string
		)
		if err := fks.Scan(&id, &ref, &from); err != nil {
			return info, classify(err)
		}
		if id != last {
			info.ForeignKeys = append(info.ForeignKeys, mapping.ForeignKey{Table: ref})
			last = id
		}
		fk := &info.ForeignKeys[len(info.ForeignKeys)-1]
		fk.Columns = append(fk.Columns, from)
	}
	if err := fks.Err(); err != nil {
		return info, classify(err)
	}
	return info, nil
}

// queryStrings runs q with arg and returns its one text column.
func queryStrings(ctx context.Context, db *sql.DB, q string, arg any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, classify(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// Inspect reads how the SQLite file at path declares the mapping's table,
// without changing anything.
func Inspect(ctx context.Context, path string, m mapping.Mapping) (mapping.TableInfo, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return mapping.TableInfo{}, nil // no file yet: no table
	}
	db, err := openReadOnly(path)
	if err != nil {
		return mapping.TableInfo{}, err
	}
	defer db.Close()
	info, err := inspect(ctx, db, m)
	if err != nil {
		return info, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return info, nil
}

// prepare creates the default table when m is the default mapping, then
// checks the table against m; findings that would fail deliveries are an
// error wrapping ErrMismatch.
func prepare(ctx context.Context, db *sql.DB, m mapping.Mapping) (*table, error) {
	if m.Schema != "" {
		return nil, fmt.Errorf("mapping: schema %q: SQLite has no schemas; leave schema out", m.Schema)
	}
	kind := m.EntityKind()
	info, err := inspect(ctx, db, m)
	if err != nil {
		return nil, fmt.Errorf("inspect the %ss table: %w", kind, err)
	}
	// Only a table that is not there is created; an existing one is the
	// app's, and Check says what it lacks.
	if m.IsDefault() && !info.Exists {
		if _, err := db.ExecContext(ctx, m.DDL(mapping.SQLite, true)); err != nil {
			return nil, fmt.Errorf("create the default %ss table: %w", kind, classify(err))
		}
		if info, err = inspect(ctx, db, m); err != nil {
			return nil, fmt.Errorf("inspect the %ss table: %w", kind, err)
		}
	}
	if failing := mapping.Failing(mapping.Check(m, mapping.SQLite, info)); len(failing) > 0 {
		return nil, mapping.Mismatch(m, failing)
	}
	return newTable(m, info), nil
}
