package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// TableInfo is what a driver found of an entity's table.
type TableInfo struct {
	Exists     bool
	Columns    []ColumnInfo
	PrimaryKey []string   // the primary key's columns
	Unique     [][]string // the column sets of each unique index without a predicate
	// ForeignKeys are the column sets of each foreign key, with the table
	// each references.
	ForeignKeys []ForeignKey
}

// ForeignKey is one foreign key of a table.
type ForeignKey struct {
	Columns []string
	Table   string // the table it references
}

// ColumnInfo is one column as the database declares it.
type ColumnInfo struct {
	Name    string
	Type    string // as the database spells it: "timestamp(3) without time zone", "DATETIME" …
	NotNull bool
	Default bool // has a default, is an identity, or is SQLite's rowid
	// Base is the type without its modifiers, qualified by its schema
	// ("pg_catalog.varchar" for "character varying(191)"; empty on
	// SQLite): the cast that lets the column itself refuse a value too
	// long, where a cast to the full type would cut it.
	Base string
	// Generated: the database computes it (GENERATED … AS, or an identity
	// GENERATED ALWAYS); nothing may write it.
	Generated bool
}

// Column returns the column named name.
func (t TableInfo) Column(name string) (ColumnInfo, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return ColumnInfo{}, false
}

func (t TableInfo) unique(col string) bool {
	return slices.ContainsFunc(t.Unique, func(cols []string) bool { return len(cols) == 1 && cols[0] == col })
}

// Driver names, as Check and the schema printers take them.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Holds reports whether a column of the declared type can hold a value
// of kind k, on driver.
func Holds(driver, typ string, k Kind) bool {
	t := strings.ToLower(typ)
	if strings.HasSuffix(t, "[]") {
		return false // an array holds lists, not one value
	}
	if driver == SQLite {
		switch {
		case t == "":
			return true // no declared type: SQLite keeps anything
		case strings.Contains(t, "json"):
			return k == JSON
		case strings.Contains(t, "char") || strings.Contains(t, "clob") || strings.Contains(t, "text"):
			return k == Text || k == JSON
		case strings.Contains(t, "date") || strings.Contains(t, "time"):
			return k == Time
		case strings.Contains(t, "bool"):
			return k == Bool
		case strings.Contains(t, "int"):
			return k == Time || k == Bool
		}
		return false
	}
	switch {
	case t == "text" || strings.HasPrefix(t, "character") || t == "citext" || strings.HasPrefix(t, "varchar"):
		return k == Text || k == JSON
	case strings.HasPrefix(t, "timestamp"):
		return k == Time
	case t == "boolean":
		return k == Bool
	case t == "json" || t == "jsonb":
		return k == JSON
	}
	return false
}

// Severity says whether a finding makes deliveries fail.
type Severity int

// Severities.
const (
	Warning Severity = iota // deliveries work, but some may fail or surprise
	Error                   // deliveries would fail
)

// String is "warning" or "error".
func (s Severity) String() string { return [...]string{"warning", "error"}[s] }

// Finding is one problem of the table against the mapping, with its fix.
type Finding struct {
	Severity Severity
	Table    string // the table, when a mapping keeps several; "" otherwise
	Column   string // "" for the table itself
	Problem  string
	Fix      string
}

// String is the finding as doctor prints it: the problem, then its fix.
func (f Finding) String() string {
	where := ""
	if f.Table != "" && !strings.Contains(f.Problem, f.Table) {
		where = "table " + f.Table + ": "
	}
	if f.Column != "" {
		where += fmt.Sprintf("column %q: ", f.Column)
	}
	return fmt.Sprintf("%s: %s%s\n  fix: %s", f.Severity, where, f.Problem, f.Fix)
}

// Failing returns the findings that would make deliveries fail.
func Failing(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == Error {
			out = append(out, f)
		}
	}
	return out
}

// Check compares the table that a driver found with what m writes.
func Check(m Mapping, driver string, t TableInfo) []Finding {
	var fs []Finding
	add := func(sev Severity, col, fix, format string, args ...any) {
		fs = append(fs, Finding{Severity: sev, Column: col, Problem: fmt.Sprintf(format, args...), Fix: fix})
	}
	if long := tooLong(driver, m.Schema, m.Table); long != "" {
		add(Error, "", fmt.Sprintf("rename it to at most %d bytes, in the database (Prisma: @@map, @@schema) and in %s", maxPostgresName, m.source()),
			"%q is %d bytes, longer than PostgreSQL's %d-byte limit for names: PostgreSQL cuts it, so no table has it", long, len(long), maxPostgresName)
		return fs
	}
	if !t.Exists {
		if m.IsDefault() {
			add(Warning, "", "clerk-sync creates it at start-up; or run `clerk-sync migrate`", "table %s does not exist yet", m.QualifiedName())
		} else {
			add(Error, "", fmt.Sprintf("create it with your own migration (`clerk-sync schema --sql %s` prints its DDL), or fix table/schema in %s", driver, m.source()),
				"table %s does not exist", m.QualifiedName())
		}
		return fs
	}
	filled := map[string]bool{}
	// missing reports a column the table lacks: a name PostgreSQL cannot
	// hold is the reason, when it is one.
	missing := func(name, fix, format string, args ...any) {
		if tooLong(driver, name) != "" {
			add(Error, name, fmt.Sprintf("rename it to at most %d bytes, in the table (Prisma: @map) and in %s", maxPostgresName, m.source()),
				"%d bytes, longer than PostgreSQL's %d-byte limit for names: PostgreSQL cuts it, so no column has it", len(name), maxPostgresName)
			return
		}
		add(Error, name, fix, format, args...)
	}
	need := func(name string, k Kind, what string) (ColumnInfo, bool) {
		filled[name] = true
		c, ok := t.Column(name)
		if !ok {
			missing(name, fmt.Sprintf("add the column to the table, or correct its name in %s", m.source()),
				"missing: the mapping writes %s into it", what)
			return c, false
		}
		if !Holds(driver, c.Type, k) {
			add(Error, name, fmt.Sprintf("make it a %s column, or map another column in %s", k, m.source()),
				"its type %s cannot hold %s (a %s)", c.Type, what, k)
			return c, false
		}
		if c.Generated {
			add(Error, name, fmt.Sprintf("map another column in %s", m.source()), "the database generates it, so nothing may write %s into it", what)
			return c, false
		}
		return c, true
	}

	// The key: the Clerk id, with a unique index for the upsert.
	clerkID := "the Clerk " + string(m.EntityKind()) + " id"
	if _, ok := need(m.Key, Text, clerkID); ok && !t.unique(m.Key) {
		add(Error, m.Key, fmt.Sprintf("mark it @unique in Prisma, or CREATE UNIQUE INDEX %s ON %s (%s)",
			Quote(m.Table+"_"+m.Key+"_key"), m.QualifiedName(), Quote(m.Key)),
			"no unique index (a deferrable or invalid one does not count): the upsert on %s needs one", clerkID)
	}

	// The primary key.
	if m.HasID() {
		filled[m.ID] = true
		c, ok := t.Column(m.ID)
		switch {
		case !ok:
			missing(m.ID, fmt.Sprintf("correct primary_key.column in %s", m.source()), "missing: it is the mapping's primary key")
		case m.IDFill == FillDefault && !c.Default:
			add(Error, m.ID, "give it a default in the database (e.g. @default(autoincrement()) or gen_random_uuid()), or set primary_key.fill to cuid or uuid",
				"fill is default, but the column has no default: new rows would fail")
		case m.IDFill == FillUUID && !(Holds(driver, c.Type, Text) || strings.EqualFold(c.Type, "uuid")):
			add(Error, m.ID, "make it a text or uuid column, or change primary_key.fill", "its type %s cannot hold a UUID", c.Type)
		case (m.IDFill == FillCUID || m.IDFill == FillClerkID) && !Holds(driver, c.Type, Text):
			add(Error, m.ID, "make it a text column (String in Prisma), or change primary_key.fill", "its type %s cannot hold a %s id", c.Type, m.IDFill)
		case m.IDFill != FillDefault && c.Generated:
			add(Error, m.ID, "set primary_key.fill to default", "the database generates it (GENERATED ALWAYS), so it cannot be filled with a %s id", m.IDFill)
		}
	}
	switch {
	case len(t.PrimaryKey) > 1:
		add(Error, "", "give the table a single-column primary key", "its primary key (%s) has several columns; the mapping fills one", strings.Join(t.PrimaryKey, ", "))
	case len(t.PrimaryKey) == 1 && !filled[t.PrimaryKey[0]]:
		if c, _ := t.Column(t.PrimaryKey[0]); !c.Default {
			add(Error, t.PrimaryKey[0], fmt.Sprintf("set primary_key: {column: %s, fill: cuid|uuid|clerk} in %s", t.PrimaryKey[0], m.source()),
				"the primary key has no default and the mapping does not fill it")
		}
	}

	for _, col := range m.Columns {
		c, ok := need(col.Name, col.As, string(col.Field))
		if ok && c.NotNull && col.Field.Nullable() {
			add(Warning, col.Name, fmt.Sprintf("make it optional (%s? in Prisma) unless every user in your Clerk instance has one", col.As.prisma()),
				"NOT NULL, but Clerk may send no %s (e.g. phone-only users have no email): such deliveries fail with 500", col.Field)
		}
	}
	if m.OnDelete == store.SoftDelete {
		filled[m.DeleteColumn] = true
		c, ok := t.Column(m.DeleteColumn)
		switch {
		case !ok:
			missing(m.DeleteColumn, fmt.Sprintf("add it (deletedAt DateTime? in Prisma), or correct on_delete.column in %s", m.source()),
				"missing: user.deleted sets it (on_delete soft)")
		case !Holds(driver, c.Type, Time) && !Holds(driver, c.Type, Bool):
			add(Error, m.DeleteColumn, "make it a nullable timestamp or a boolean", "its type %s is neither a timestamp nor a boolean", c.Type)
		case !Holds(driver, c.Type, m.DeleteAs):
			other := Bool
			if m.DeleteAs == Bool {
				other = Time
			}
			add(Error, m.DeleteColumn, fmt.Sprintf("set on_delete type: %s in %s", other, m.source()),
				"its type %s cannot hold on_delete's %s", c.Type, m.DeleteAs)
		}
	}

	for _, c := range t.Columns {
		if c.NotNull && !c.Default && !filled[c.Name] && !slices.Contains(t.PrimaryKey, c.Name) { // the key's findings are above
			add(Error, c.Name, fmt.Sprintf("map a Clerk field to it in %s, give it a default, or make it optional", m.source()),
				"NOT NULL without a default, and the mapping never fills it: every new row would fail")
		}
	}
	what := map[store.Kind]string{
		store.KindUser: "a user", store.KindOrganization: "an organization", store.KindMembership: "a membership",
	}[m.EntityKind()]
	for _, fk := range t.ForeignKeys {
		add(Warning, strings.Join(fk.Columns, ", "), "drop the foreign key (relationMode = \"prisma\" in Prisma keeps the relation without one), or expect those retries",
			"a foreign key to %s: Clerk sends events in any order, so %s that arrives before the row it references is refused with 500 and retried by Svix until that row exists",
			fk.Table, what)
	}
	if m.EntityKind() == store.KindMembership {
		var pair []string
		for _, c := range m.Columns {
			if c.Field == OrganizationID || c.Field == UserID {
				pair = append(pair, c.Name)
			}
		}
		for _, u := range t.Unique {
			if len(pair) == 2 && len(u) == 2 && slices.Contains(u, pair[0]) && slices.Contains(u, pair[1]) {
				add(Warning, strings.Join(u, ", "), "drop the unique index (@@unique in Prisma); a plain index serves the joins",
					"a unique index covers (organization, user): a membership deleted and created again can arrive out of order, so the new one is refused with 500 until the old one's deletion comes")
			}
		}
	}
	for _, col := range m.Columns {
		why := map[Field]string{
			Email:    "Clerk users can change and swap emails, and a deleted user's email can come back on a new account",
			Username: "Clerk users can change and swap usernames, and a deleted user's username can come back on a new account",
			Phone:    "Clerk users can change and swap phone numbers, and a deleted user's number can come back on a new account",
			Slug:     "Clerk organizations can change their slugs, and a deleted organization's slug can come back on a new one",
		}[col.Field]
		if why == "" {
			continue
		}
		for _, u := range t.Unique {
			// With the key in it, an index never joins two entities.
			if slices.Contains(u, col.Name) && !slices.Contains(u, m.Key) {
				add(Warning, col.Name, "drop the unique index (remove @unique), or expect 500s, shown as failed in the ledger, until the other row changes",
					"a unique index covers the %s: %s", col.Field, why)
				break
			}
		}
	}
	return fs
}

// maxPostgresName is the longest name PostgreSQL keeps (NAMEDATALEN - 1).
const maxPostgresName = 63

// tooLong returns the first of names that PostgreSQL cannot hold, when
// driver is PostgreSQL.
func tooLong(driver string, names ...string) string {
	if driver != Postgres {
		return ""
	}
	for _, n := range names {
		if len(n) > maxPostgresName {
			return n
		}
	}
	return ""
}

// QualifiedName is the table's name as SQL quotes it.
func (m Mapping) QualifiedName() string {
	if m.Schema != "" {
		return Quote(m.Schema) + "." + Quote(m.Table)
	}
	return Quote(m.Table)
}

func (m Mapping) source() string {
	if m.Source == "" {
		return FileName
	}
	return m.Source
}

// Quote quotes an SQL identifier, keeping its case: Prisma's "User" and
// "clerkId" stay as they are.
func Quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// Readable reports why a view could not read the table through m (a
// missing table or column), or nil. A view only reads, so what would stop
// writes does not matter to it.
func Readable(m Mapping, t TableInfo) error {
	if !t.Exists {
		return fmt.Errorf("table %s does not exist: name your %s table in %s (`clerk-sync schema --example` shows how)", m.QualifiedName(), Section(m.EntityKind()), m.source())
	}
	var missing []string
	for _, c := range append([]string{m.Key}, m.columnNames()...) {
		if _, ok := t.Column(c); !ok {
			missing = append(missing, Quote(c))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("table %s has no column %s: map your table's columns in %s (`clerk-sync doctor` checks it)",
			m.QualifiedName(), strings.Join(missing, ", "), m.source())
	}
	return nil
}

// columnNames are the columns that m writes besides the key.
func (m Mapping) columnNames() []string {
	var names []string
	if m.HasID() {
		names = append(names, m.ID)
	}
	for _, c := range m.Columns {
		names = append(names, c.Name)
	}
	return names
}

// ErrMismatch: a mapped table cannot take what the mapping writes.
var ErrMismatch = errors.New("a table does not fit the mapping")

// Mismatch is the error that refuses start-up: it wraps ErrMismatch and
// lists what to fix.
func Mismatch(m Mapping, failing []Finding) error {
	var b strings.Builder
	for _, f := range failing {
		b.WriteString("\n  " + strings.ReplaceAll(f.String(), "\n", "\n  "))
	}
	return fmt.Errorf("%w: table %s:%s\n(run `clerk-sync doctor` for the whole report)", ErrMismatch, m.QualifiedName(), b.String())
}
