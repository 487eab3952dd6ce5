package mapping

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
)

// column is one column of the table that a mapping describes, for the
// schema printers.
type column struct {
	name     string
	prisma   string // Prisma type, with ? when optional
	attrs    string // Prisma attributes
	pg, lite string // SQL types
	notNull  bool
	def      string // SQL default
}

func (m Mapping) columns() []column {
	var cols []column
	what := "the Clerk " + string(m.EntityKind()) + " id"
	if m.HasID() {
		c := column{name: m.ID, prisma: "String", pg: "TEXT", lite: "TEXT", notNull: true}
		switch m.IDFill {
		case FillClerkID:
			c.attrs = "@id // " + what
		case FillCUID:
			c.attrs = "@id @default(cuid())"
		case FillUUID:
			c.attrs = "@id @default(uuid())"
		case FillDefault:
			c.prisma, c.attrs, c.pg, c.lite = "Int", "@id @default(autoincrement())", "SERIAL", "INTEGER"
		}
		cols = append(cols, c)
	}
	key := column{name: m.Key, prisma: "String", attrs: "@unique // " + what + ": the upsert key", pg: "TEXT", lite: "TEXT", notNull: true}
	if !m.HasID() {
		key.attrs = "@id // " + what
	}
	cols = append(cols, key)
	for _, c := range m.Columns {
		col := column{name: c.Name}
		switch c.As {
		case Text:
			col.prisma, col.pg, col.lite = "String?", "TEXT", "TEXT"
		case JSON:
			col.prisma, col.pg, col.lite = "Json?", "JSONB", "JSONB"
		case Time:
			col.prisma, col.pg, col.lite = "DateTime?", "TIMESTAMP(3)", "DATETIME"
			switch c.Field {
			case CreatedAt:
				col.prisma, col.attrs, col.notNull, col.def = "DateTime", "@default(now())", true, "CURRENT_TIMESTAMP"
			case UpdatedAt:
				col.prisma, col.attrs, col.notNull = "DateTime", "@updatedAt", true
			}
		case Bool:
			col.prisma, col.attrs, col.pg, col.lite, col.notNull, col.def = "Boolean", "@default(false)", "BOOLEAN", "BOOLEAN", true, "false"
		}
		if c.Field == Email {
			col.attrs = strings.TrimSpace(col.attrs + " // the primary email; null for users without one")
		}
		if info, _ := c.Field.info(); info.kind == Text && !info.nullable {
			col.prisma, col.notNull = "String", true
		}
		cols = append(cols, col)
	}
	if m.DeleteColumn != "" {
		col := column{name: m.DeleteColumn, prisma: "DateTime?", attrs: "// set by on_delete soft", pg: "TIMESTAMP(3)", lite: "DATETIME"}
		if m.DeleteAs == Bool {
			col.prisma, col.attrs, col.pg, col.lite, col.notNull, col.def = "Boolean", "@default(false) // set by on_delete soft", "BOOLEAN", "BOOLEAN", true, "false"
		}
		cols = append(cols, col)
	}
	return cols
}

// Prisma is the Prisma model of the table, ready to paste into
// schema.prisma. A name that Prisma cannot take as a model or field name
// gets one it can, with @@map or @map to the real name.
func (m Mapping) Prisma() string {
	var b strings.Builder
	model := m.Model
	if !IsPrismaName(model) {
		model = prismaName(model, "Table", true)
	}
	fmt.Fprintf(&b, "model %s {\n", model)
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
	taken := map[string]bool{}
	for _, c := range m.columns() {
		field, attrs := prismaName(c.name, "column", false), c.attrs
		for n := 2; taken[field]; n++ {
			field = prismaName(c.name, "column", false) + strconv.Itoa(n)
		}
		taken[field] = true
		if field != c.name {
			mapAttr := "@map(" + prismaString(c.name) + ")"
			if before, comment, ok := strings.Cut(attrs, "//"); ok {
				attrs = strings.TrimSpace(strings.TrimSpace(before)+" "+mapAttr) + " //" + comment
			} else {
				attrs = strings.TrimSpace(attrs + " " + mapAttr)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", field, c.prisma, attrs)
	}
	tw.Flush()
	if len(m.Index) > 0 || model != m.Table {
		b.WriteString("\n")
	}
	for _, col := range m.Index {
		fmt.Fprintf(&b, "  @@index([%s])\n", prismaName(col, "column", false))
	}
	if model != m.Table {
		fmt.Fprintf(&b, "  @@map(%s)\n", prismaString(m.Table))
	}
	if m.Schema != "" {
		fmt.Fprintf(&b, "  @@schema(%s)\n", prismaString(m.Schema))
	}
	b.WriteString("}\n")
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// IsPrismaName reports whether Prisma takes name as a model or field
// name: an ASCII letter, then letters, digits and _.
func IsPrismaName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c != '_' && !('0' <= c && c <= '9')) {
			return false
		}
	}
	return name != ""
}

// prismaName turns a table or column name into a Prisma name: the words
// between _ and the characters Prisma cannot take, joined in camel case
// (first_name → firstName, "e-mail" → eMail; with upper, app_users →
// AppUsers). A name that would not start with a letter gets prefix.
func prismaName(name, prefix string, upper bool) string {
	words := strings.FieldsFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
	for i, w := range words {
		if i > 0 || upper {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	out := strings.Join(words, "")
	if !IsPrismaName(out) {
		out = prefix + strings.ToUpper(out[:min(1, len(out))]) + out[min(1, len(out)):]
	}
	return out
}

// prismaString is s as a Prisma string literal.
func prismaString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// DDL is the SQL that creates the table on driver, in the form `prisma
// migrate` writes it. With ifNotExists, each statement leaves an existing
// table or index alone.
func (m Mapping) DDL(driver string, ifNotExists bool) string {
	exists := ""
	if ifNotExists {
		exists = "IF NOT EXISTS "
	}
	table := m.QualifiedName()
	if driver == SQLite {
		table = Quote(m.Table)
	}
	var lines []string
	pk := m.Key
	if m.HasID() {
		pk = m.ID
	}
	for _, c := range m.columns() {
		typ := c.pg
		if driver == SQLite {
			typ = c.lite
		}
		l := fmt.Sprintf("    %s %s", Quote(c.name), typ)
		if c.notNull || c.name == pk {
			l += " NOT NULL"
		}
		if driver == SQLite && c.name == pk {
			l += " PRIMARY KEY"
			if m.HasID() && m.IDFill == FillDefault {
				l += " AUTOINCREMENT"
			}
		}
		if c.def != "" {
			l += " DEFAULT " + c.def
		}
		lines = append(lines, l)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- CreateTable\nCREATE TABLE %s%s (\n%s", exists, table, strings.Join(lines, ",\n"))
	if driver == SQLite {
		b.WriteString("\n);\n")
	} else {
		fmt.Fprintf(&b, ",\n\n    CONSTRAINT %s PRIMARY KEY (%s)\n);\n", Quote(m.Table+"_pkey"), Quote(pk))
	}
	if m.HasID() {
		fmt.Fprintf(&b, "\n-- CreateIndex\nCREATE UNIQUE INDEX %s%s ON %s(%s);\n", exists, Quote(m.Table+"_"+m.Key+"_key"), table, Quote(m.Key))
	}
	for _, col := range m.Index {
		fmt.Fprintf(&b, "\n-- CreateIndex\nCREATE INDEX %s%s ON %s(%s);\n", exists, Quote(m.Table+"_"+col+"_idx"), table, Quote(col))
	}
	return b.String()
}
