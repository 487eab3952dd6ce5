package mapping

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The tables below are written as the drivers report them: PostgreSQL
// types as format_type spells them, SQLite types as declared.
const pgTime = "timestamp(3) without time zone"

// types are the text, timestamp and JSON types of driver.
func types(driver string) (text, ts, json string) {
	if driver == SQLite {
		return "TEXT", "DATETIME", "JSONB"
	}
	return "text", pgTime, "jsonb"
}

// defaultTable is the table that Default().DDL(driver, false) creates.
func defaultTable(driver string) TableInfo {
	text, ts, _ := types(driver)
	return TableInfo{
		Exists: true,
		Columns: []ColumnInfo{
			{Name: "id", Type: text, NotNull: true, Default: false},
			{Name: "clerkId", Type: text, NotNull: true, Default: false},
			{Name: "email", Type: text, NotNull: false, Default: false},
			{Name: "firstName", Type: text, NotNull: false, Default: false},
			{Name: "lastName", Type: text, NotNull: false, Default: false},
			{Name: "username", Type: text, NotNull: false, Default: false},
			{Name: "imageUrl", Type: text, NotNull: false, Default: false},
			{Name: "createdAt", Type: ts, NotNull: true, Default: true},
			{Name: "updatedAt", Type: ts, NotNull: true, Default: false},
			{Name: "deletedAt", Type: ts, NotNull: false, Default: false},
		},
		PrimaryKey: []string{"id"},
		Unique:     [][]string{{"id"}, {"clerkId"}},
	}
}

// exampleTable is a table for Parse(Example); on PostgreSQL its primary
// key is a uuid column, as Prisma's String @id @default(uuid()) @db.Uuid.
func exampleTable(driver string) TableInfo {
	text, ts, json := types(driver)
	id := "uuid"
	if driver == SQLite {
		id = text
	}
	return TableInfo{
		Exists: true,
		Columns: []ColumnInfo{
			{Name: "id", Type: id, NotNull: true, Default: false},
			{Name: "clerk_id", Type: text, NotNull: true, Default: false},
			{Name: "email_address", Type: text, NotNull: false, Default: false},
			{Name: "first_name", Type: text, NotNull: false, Default: false},
			{Name: "last_name", Type: text, NotNull: false, Default: false},
			{Name: "image_url", Type: text, NotNull: false, Default: false},
			{Name: "public_metadata", Type: json, NotNull: false, Default: false},
			{Name: "notes", Type: text, NotNull: false, Default: false},
			{Name: "created_at", Type: ts, NotNull: true, Default: true},
			{Name: "updated_at", Type: ts, NotNull: true, Default: false},
			{Name: "deleted_at", Type: ts, NotNull: false, Default: false},
		},
		PrimaryKey: []string{"id"},
		Unique:     [][]string{{"id"}, {"clerk_id"}},
	}
}

// seedPlanMapping maps the seed plan's Prisma model (id String @id
// @default(cuid()), clerkId String @unique, email String @unique), from
// the Prisma fixtures of storetest.
func seedPlanMapping(t *testing.T) Mapping {
	return mustParse(t, string(prismaFixture(t, "seed-plan.yaml")))
}

// prismaFixture reads a file of the Prisma-made tables of storetest.
func prismaFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "store", "storetest", "testdata", "prisma", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedPlan is the table that Prisma 6 creates for the seed plan's model:
// the default's without username and deletedAt, its email a required
// String @unique.
func seedPlan(driver string) TableInfo {
	t := drop(drop(defaultTable(driver), "username"), "deletedAt")
	t = alter(t, "email", func(c *ColumnInfo) { c.NotNull = true })
	t.Unique = append(t.Unique, []string{"email"})
	return t
}

// alter returns t with fn applied to its column name.
func alter(t TableInfo, name string, fn func(*ColumnInfo)) TableInfo {
	i := slices.IndexFunc(t.Columns, func(c ColumnInfo) bool { return c.Name == name })
	fn(&t.Columns[i])
	return t
}

// retype returns t with column name of type typ.
func retype(t TableInfo, name, typ string) TableInfo {
	return alter(t, name, func(c *ColumnInfo) { c.Type = typ })
}

// drop returns t without column name, and without the indexes on it.
func drop(t TableInfo, name string) TableInfo {
	t.Columns = slices.DeleteFunc(t.Columns, func(c ColumnInfo) bool { return c.Name == name })
	t.Unique = slices.DeleteFunc(t.Unique, func(cols []string) bool { return slices.Contains(cols, name) })
	return t
}

// with returns m writing the extra columns too.
func with(m Mapping, cols ...Column) Mapping {
	m.Columns = append(slices.Clone(m.Columns), cols...)
	return m
}

// wantFinding is a finding as a test expects it: the exact severity and
// column, and words that its Problem and Fix must contain.
type wantFinding struct {
	sev     Severity
	col     string
	problem []string
	fix     []string
}

func checkFindings(t *testing.T, got []Finding, want []wantFinding) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d findings, want %d:\n%s", len(got), len(want), findingsText(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Severity != w.sev || g.Column != w.col {
			t.Errorf("finding %d is a %s on column %q, want a %s on %q:\n%s", i, g.Severity, g.Column, w.sev, w.col, g)
		}
		for _, word := range w.problem {
			if !strings.Contains(g.Problem, word) {
				t.Errorf("finding %d: problem %q does not mention %q", i, g.Problem, word)
			}
		}
		for _, word := range w.fix {
			if !strings.Contains(g.Fix, word) {
				t.Errorf("finding %d: fix %q does not mention %q", i, g.Fix, word)
			}
		}
	}
}

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

// TestCheck has one case per finding of the doctor.
func TestCheck(t *testing.T) {
	long := strings.Repeat("x", 64)
	example := mustParse(t, Example)
	keyIsPK := Default()
	keyIsPK.ID, keyIsPK.IDFill = "", ""
	fill := func(f Fill) Mapping {
		m := example
		m.IDFill = f
		return m
	}

	tests := []struct {
		name   string
		m      Mapping
		driver string
		table  TableInfo
		want   []wantFinding
	}{
		{
			name: "default table missing", m: Default(), driver: Postgres, table: TableInfo{},
			want: []wantFinding{{Warning, "", []string{`table "User" does not exist yet`}, []string{"creates it at start-up", "clerk-sync migrate"}}},
		},
		{
			name: "default table missing with soft deletes", m: Default().WithDelete(store.SoftDelete), driver: SQLite, table: TableInfo{},
			want: []wantFinding{{Warning, "", []string{`"User"`, "does not exist yet"}, []string{"clerk-sync migrate"}}},
		},
		{
			name: "custom table missing", m: example, driver: Postgres, table: TableInfo{},
			want: []wantFinding{{Error, "", []string{`table "public"."app_users" does not exist`}, []string{"your own migration", "clerk-sync schema --sql postgres", FileName}}},
		},
		{
			name: "custom table missing names the mapping file", m: func() Mapping { m := example; m.Source = "conf/users.yaml"; return m }(), driver: SQLite, table: TableInfo{},
			want: []wantFinding{{Error, "", []string{"does not exist"}, []string{"clerk-sync schema --sql sqlite", "conf/users.yaml"}}},
		},
		{
			name: "mapped column missing", m: example, driver: Postgres, table: drop(exampleTable(Postgres), "first_name"),
			want: []wantFinding{{Error, "first_name", []string{"missing", "first_name"}, []string{"add the column", FileName}}},
		},
		{
			name: "key column missing", m: Default(), driver: Postgres, table: drop(defaultTable(Postgres), "clerkId"),
			want: []wantFinding{{Error, "clerkId", []string{"missing", "Clerk user id"}, []string{"add the column"}}},
		},
		{
			name: "timestamp field in an integer column", m: Default(), driver: Postgres, table: retype(defaultTable(Postgres), "createdAt", "integer"),
			want: []wantFinding{{Error, "createdAt", []string{"integer", "created_at", "timestamp"}, []string{"timestamp column"}}},
		},
		{
			name: "boolean field in a text column",
			m:    with(Default(), Column{"banned", Banned, Bool}), driver: Postgres,
			table: func() TableInfo {
				t := defaultTable(Postgres)
				t.Columns = append(t.Columns, ColumnInfo{Name: "banned", Type: "text", NotNull: true, Default: true})
				return t
			}(),
			want: []wantFinding{{Error, "banned", []string{"text", "banned", "boolean"}, []string{"boolean column"}}},
		},
		{
			name: "JSON field in a SQLite DATETIME column", m: example, driver: SQLite, table: retype(exampleTable(SQLite), "public_metadata", "DATETIME"),
			want: []wantFinding{{Error, "public_metadata", []string{"DATETIME", "public_metadata", "json"}, []string{"json column"}}},
		},
		{
			name: "key in an integer column", m: Default(), driver: SQLite, table: retype(defaultTable(SQLite), "clerkId", "INTEGER"),
			want: []wantFinding{{Error, "clerkId", []string{"INTEGER", "Clerk user id"}, []string{"text column"}}},
		},
		{
			name: "key without a unique index", m: Default(), driver: Postgres,
			table: func() TableInfo { t := defaultTable(Postgres); t.Unique = [][]string{{"id"}}; return t }(),
			want:  []wantFinding{{Error, "clerkId", []string{"no unique index", "upsert"}, []string{"@unique", `CREATE UNIQUE INDEX "User_clerkId_key" ON "User" ("clerkId")`}}},
		},
		{
			name: "key only in a unique index of several columns", m: Default(), driver: Postgres,
			table: func() TableInfo {
				t := defaultTable(Postgres)
				t.Unique = [][]string{{"id"}, {"clerkId", "username"}}
				return t
			}(),
			want: []wantFinding{{Error, "clerkId", []string{"no unique index"}, []string{"@unique"}}},
		},
		{
			name: "NOT NULL column the mapping never fills", m: Default(), driver: Postgres,
			table: func() TableInfo {
				t := defaultTable(Postgres)
				t.Columns = append(t.Columns, ColumnInfo{Name: "role", Type: "text", NotNull: true, Default: false})
				return t
			}(),
			want: []wantFinding{{Error, "role", []string{"NOT NULL without a default", "never fills"}, []string{"map a Clerk field", "give it a default", "optional"}}},
		},
		{
			name: "NOT NULL column for the email", m: Default(), driver: Postgres,
			table: alter(defaultTable(Postgres), "email", func(c *ColumnInfo) { c.NotNull = true }),
			want:  []wantFinding{{Warning, "email", []string{"NOT NULL", "no email", "500"}, []string{"String?", "optional"}}},
		},
		{
			name: "unique index on the email", m: Default(), driver: Postgres,
			table: func() TableInfo {
				t := defaultTable(Postgres)
				t.Unique = append(t.Unique, []string{"email"})
				return t
			}(),
			want: []wantFinding{{Warning, "email", []string{"unique index", "email"}, []string{"drop the unique index", "@unique"}}},
		},
		{
			name: "unique index of several columns covering the email", m: example, driver: Postgres,
			table: func() TableInfo {
				t := exampleTable(Postgres)
				t.Unique = append(t.Unique, []string{"email_address", "first_name"})
				return t
			}(),
			want: []wantFinding{{Warning, "email_address", []string{"unique index", "email"}, []string{"drop the unique index"}}},
		},
		{
			// SQLite lets a TEXT PRIMARY KEY be NULL, so only the primary
			// key finding applies.
			name: "primary key not mapped and without a default", m: keyIsPK, driver: SQLite,
			table: alter(defaultTable(SQLite), "id", func(c *ColumnInfo) { c.NotNull = false }),
			want:  []wantFinding{{Error, "id", []string{"primary key has no default", "does not fill it"}, []string{"primary_key: {column: id, fill:", FileName}}},
		},
		{
			name: "primary key column missing", m: example, driver: Postgres,
			table: func() TableInfo {
				t := drop(exampleTable(Postgres), "id")
				t.PrimaryKey = []string{"clerk_id"}
				return t
			}(),
			want: []wantFinding{{Error, "id", []string{"missing", "primary key"}, []string{"primary_key.column", FileName}}},
		},
		{
			name: "fill default without a database default", m: fill(FillDefault), driver: Postgres, table: retype(exampleTable(Postgres), "id", "integer"),
			want: []wantFinding{{Error, "id", []string{"fill is default", "no default"}, []string{"give it a default", "cuid or uuid"}}},
		},
		{
			name: "fill cuid into an integer column", m: fill(FillCUID), driver: Postgres, table: retype(exampleTable(Postgres), "id", "integer"),
			want: []wantFinding{{Error, "id", []string{"integer", "cuid id"}, []string{"text column", "primary_key.fill"}}},
		},
		{
			name: "fill cuid into a uuid column", m: fill(FillCUID), driver: Postgres, table: exampleTable(Postgres),
			want: []wantFinding{{Error, "id", []string{"uuid", "cuid id"}, []string{"text column"}}},
		},
		{
			name: "fill clerk into a SQLite INTEGER column", m: fill(FillClerkID), driver: SQLite, table: retype(exampleTable(SQLite), "id", "INTEGER"),
			want: []wantFinding{{Error, "id", []string{"INTEGER", "clerk id"}, []string{"text column"}}},
		},
		{
			name: "fill uuid into an integer column", m: fill(FillUUID), driver: Postgres, table: retype(exampleTable(Postgres), "id", "bigint"),
			want: []wantFinding{{Error, "id", []string{"bigint", "UUID"}, []string{"text or uuid column"}}},
		},
		{
			name: "composite primary key", m: Default(), driver: Postgres,
			table: func() TableInfo { t := defaultTable(Postgres); t.PrimaryKey = []string{"id", "clerkId"}; return t }(),
			want:  []wantFinding{{Error, "", []string{"(id, clerkId)", "several columns"}, []string{"single-column primary key"}}},
		},
		{
			name: "soft delete column missing", m: example, driver: Postgres, table: drop(exampleTable(Postgres), "deleted_at"),
			want: []wantFinding{{Error, "deleted_at", []string{"missing", "on_delete soft"}, []string{"deletedAt DateTime?", "on_delete.column", FileName}}},
		},
		{
			name: "soft delete column of a wrong type", m: example, driver: Postgres, table: retype(exampleTable(Postgres), "deleted_at", "text"),
			want: []wantFinding{{Error, "deleted_at", []string{"text", "neither a timestamp nor a boolean"}, []string{"timestamp or a boolean"}}},
		},

		// Tables that fit.
		{
			name: "a column name PostgreSQL cannot hold", m: with(Default(), Column{long, Phone, Text}), driver: Postgres, table: defaultTable(Postgres),
			want: []wantFinding{{Error, long, []string{"64 bytes, longer than PostgreSQL's 63-byte limit"}, []string{"at most 63 bytes"}}},
		},
		{
			name: "a long column name on SQLite is only missing", m: with(Default(), Column{long, Phone, Text}), driver: SQLite, table: defaultTable(SQLite),
			want: []wantFinding{{Error, long, []string{"missing"}, []string{"add the column"}}},
		},
		{
			name: "a table name PostgreSQL cannot hold", m: func() Mapping { m := example; m.Table = long; return m }(), driver: Postgres, table: TableInfo{},
			want: []wantFinding{{Error, "", []string{`"` + long + `" is 64 bytes, longer than PostgreSQL's 63-byte limit`}, []string{"at most 63 bytes"}}},
		},
		{
			name: "a soft-delete column PostgreSQL cannot hold", m: func() Mapping { m := example; m.DeleteColumn = long; return m }(), driver: Postgres, table: exampleTable(Postgres),
			want: []wantFinding{{Error, long, []string{"longer than PostgreSQL's 63-byte limit"}, []string{"at most 63 bytes"}}},
		},
		{name: "default table on postgres", m: Default(), driver: Postgres, table: defaultTable(Postgres)},
		{name: "default table on sqlite", m: Default(), driver: SQLite, table: defaultTable(SQLite)},
		{name: "default table with soft deletes", m: Default().WithDelete(store.SoftDelete), driver: Postgres, table: defaultTable(Postgres)},
		{name: "example table on postgres, uuid primary key", m: example, driver: Postgres, table: exampleTable(Postgres)},
		{name: "example table on sqlite", m: example, driver: SQLite, table: exampleTable(SQLite)},
		{name: "hard deletes need no delete column", m: example.WithDelete(store.HardDelete), driver: Postgres, table: drop(exampleTable(Postgres), "deleted_at")},
		{
			name: "timestamp with time zone", m: Default(), driver: Postgres,
			table: retype(retype(defaultTable(Postgres), "createdAt", "timestamp with time zone"), "updatedAt", "timestamp(6) with time zone"),
		},
		{
			name: "soft delete into a boolean column",
			m: func() Mapping {
				m := example
				m.DeleteColumn, m.DeleteAs = "deleted", Bool
				return m
			}(),
			driver: Postgres,
			table: func() TableInfo {
				t := exampleTable(Postgres)
				t.Columns = append(t.Columns, ColumnInfo{Name: "deleted", Type: "boolean", NotNull: true, Default: true})
				return t
			}(),
		},
		{
			name: "key column is the primary key", m: keyIsPK, driver: Postgres,
			table: func() TableInfo {
				t := drop(defaultTable(Postgres), "id")
				t.PrimaryKey, t.Unique = []string{"clerkId"}, [][]string{{"clerkId"}}
				return t
			}(),
		},
		{
			name: "SQLite rowid primary key filled by the database", m: fill(FillDefault), driver: SQLite,
			table: alter(exampleTable(SQLite), "id", func(c *ColumnInfo) { c.Type, c.Default = "INTEGER", true }),
		},
		{
			name: "unmapped columns that are nullable or have a default", m: Default(), driver: Postgres,
			table: func() TableInfo {
				t := defaultTable(Postgres)
				t.Columns = append(t.Columns, ColumnInfo{Name: "role", Type: "text", NotNull: true, Default: true}, ColumnInfo{Name: "bio", Type: "text", NotNull: false, Default: false})
				return t
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, Check(tt.m, tt.driver, tt.table), tt.want)
		})
	}
}

// TestCheckSeedPlan: the table Prisma creates for the seed plan's model
// works, with a warning for each of its email's NOT NULL and unique index.
func TestCheckSeedPlan(t *testing.T) {
	m := seedPlanMapping(t)
	for _, driver := range []string{Postgres, SQLite} {
		t.Run(driver, func(t *testing.T) {
			fs := Check(m, driver, seedPlan(driver))
			checkFindings(t, fs, []wantFinding{
				{Warning, "email", []string{"NOT NULL"}, []string{"String?"}},
				{Warning, "email", []string{"unique index"}, []string{"drop the unique index"}},
			})
			if f := Failing(fs); len(f) != 0 {
				t.Errorf("Failing = %v, want none", f)
			}
		})
	}
}

// TestCheckNullableTimeFix: the fix of a NOT NULL column for a nullable
// field names the field's Prisma type.
func TestCheckNullableTimeFix(t *testing.T) {

	m := with(Default(), Column{"lastSignInAt", LastSignInAt, Time})
	tbl := defaultTable(Postgres)
	tbl.Columns = append(tbl.Columns, ColumnInfo{Name: "lastSignInAt", Type: pgTime, NotNull: true, Default: false})
	checkFindings(t, Check(m, Postgres, tbl), []wantFinding{
		{Warning, "lastSignInAt", []string{"NOT NULL", "last_sign_in_at"}, []string{"DateTime?"}},
	})
}

// TestCheckSoftDeleteType: a soft-delete column whose type is not the
// mapping's on_delete.type is reported, since User reads it as that type.
func TestCheckSoftDeleteType(t *testing.T) {

	m := mustParse(t, "table: users\nkey: clerk_id\non_delete: {mode: soft, column: deleted}\n")
	tbl := TableInfo{
		Exists: true,
		Columns: []ColumnInfo{
			{Name: "clerk_id", Type: "text", NotNull: true, Default: false},
			{Name: "deleted", Type: "boolean", NotNull: true, Default: true},
		},
		PrimaryKey: []string{"clerk_id"},
		Unique:     [][]string{{"clerk_id"}},
	}
	checkFindings(t, Check(m, Postgres, tbl), []wantFinding{
		{Error, "deleted", []string{"boolean"}, []string{"type: boolean"}},
	})
}

func TestHolds(t *testing.T) {
	tests := []struct {
		driver, typ string
		holds       []Kind // every other kind is refused
	}{
		{Postgres, "text", []Kind{Text, JSON}},
		{Postgres, "character varying(191)", []Kind{Text, JSON}},
		{Postgres, "citext", []Kind{Text, JSON}},
		{Postgres, "timestamp(3) without time zone", []Kind{Time}},
		{Postgres, "timestamp with time zone", []Kind{Time}},
		{Postgres, "jsonb", []Kind{JSON}},
		{Postgres, "json", []Kind{JSON}},
		{Postgres, "boolean", []Kind{Bool}},
		{Postgres, "uuid", nil}, // only as a fill uuid primary key, which Check allows itself
		{Postgres, "integer", nil},
		{Postgres, "bigint", nil},
		{SQLite, "TEXT", []Kind{Text, JSON}},
		{SQLite, "VARCHAR(255)", []Kind{Text, JSON}},
		{SQLite, "DATETIME", []Kind{Time}},
		{SQLite, "TIMESTAMP", []Kind{Time}},
		{SQLite, "BOOLEAN", []Kind{Bool}},
		{SQLite, "JSONB", []Kind{JSON}},
		{SQLite, "INTEGER", []Kind{Time, Bool}}, // Unix ms and 0/1
		{SQLite, "", []Kind{Text, Time, Bool, JSON}},
		{SQLite, "REAL", nil},
		{SQLite, "BLOB", nil},
	}
	for _, tt := range tests {
		for _, k := range []Kind{Text, Time, Bool, JSON} {
			want := slices.Contains(tt.holds, k)
			if got := Holds(tt.driver, tt.typ, k); got != want {
				t.Errorf("Holds(%s, %q, %s) = %v, want %v", tt.driver, tt.typ, k, got, want)
			}
		}
	}
}

func TestFailing(t *testing.T) {
	w1 := Finding{Severity: Warning, Column: "email", Problem: "w1"}
	e1 := Finding{Severity: Error, Column: "id", Problem: "e1"}
	w2 := Finding{Severity: Warning, Problem: "w2"}
	e2 := Finding{Severity: Error, Column: "role", Problem: "e2"}
	tests := []struct {
		name string
		in   []Finding
		want []Finding
	}{
		{"none", nil, nil},
		{"warnings only", []Finding{w1, w2}, nil},
		{"errors in order", []Finding{w1, e1, w2, e2}, []Finding{e1, e2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Failing(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Failing = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMismatch(t *testing.T) {
	m := mustParse(t, Example)
	tbl := drop(retype(exampleTable(Postgres), "created_at", "integer"), "deleted_at")
	failing := Failing(Check(m, Postgres, tbl))
	if len(failing) != 2 {
		t.Fatalf("want 2 failing findings, got:\n%s", findingsText(failing))
	}
	err := Mismatch(m, failing)
	if !errors.Is(err, ErrMismatch) {
		t.Errorf("Mismatch does not wrap ErrMismatch: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`"public"."app_users"`, "clerk-sync doctor"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Mismatch does not mention %q:\n%s", want, msg)
		}
	}
	for _, f := range failing {
		for _, want := range []string{fmt.Sprintf("error: column %q: %s", f.Column, f.Problem), "fix: " + f.Fix} {
			if !strings.Contains(msg, want) {
				t.Errorf("Mismatch does not list %q:\n%s", want, msg)
			}
		}
	}
}

func TestColumnNames(t *testing.T) {
	m := mustParse(t, Example)
	got := m.ColumnNames()
	for field, col := range map[string]string{"id": "id", "key": "clerk_id", "email": "email_address",
		"unsafe_metadata": "notes", "deleted": "deleted_at"} {
		if got[field] != col {
			t.Errorf("ColumnNames()[%q] = %q, want %q", field, got[field], col)
		}
	}
	if d := Default().ColumnNames(); d["id"] != "id" || d["key"] != "clerkId" || d["first_name"] != "firstName" {
		t.Errorf("default column names %v", d)
	}
}

// An organization's slug under a unique index is warned about like a
// user's email: Clerk lets organizations change slugs, and a deleted
// organization's slug can come back on a new one.
func TestCheckUniqueSlug(t *testing.T) {
	for _, driver := range []string{SQLite, Postgres} {
		text, ts, json := types(driver)
		table := TableInfo{
			Exists: true,
			Columns: []ColumnInfo{
				{Name: "id", Type: text, NotNull: true}, {Name: "clerkId", Type: text, NotNull: true},
				{Name: "name", Type: text}, {Name: "slug", Type: text}, {Name: "imageUrl", Type: text},
				{Name: "createdBy", Type: text}, {Name: "publicMetadata", Type: json},
				{Name: "createdAt", Type: ts, NotNull: true, Default: true}, {Name: "updatedAt", Type: ts, NotNull: true, Default: true},
				{Name: "deletedAt", Type: ts},
			},
			PrimaryKey: []string{"id"},
			Unique:     [][]string{{"id"}, {"clerkId"}},
		}
		checkFindings(t, Check(DefaultOrganizations(), driver, table), nil)
		table.Unique = append(table.Unique, []string{"slug"})
		checkFindings(t, Check(DefaultOrganizations(), driver, table),
			[]wantFinding{{Warning, "slug", []string{"unique index", "slug", "deleted organization"}, []string{"drop the unique index", "@unique"}}})
	}
}
