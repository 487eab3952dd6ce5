package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// FileName is the mapping file that clerk-sync reads from the working
// directory when no other is named.
const FileName = "clerk-sync.yaml"

// Example is a commented clerk-sync.yaml: the help text of Load.
const Example = `# clerk-sync.yaml: write Clerk users into the app's own table.
table: app_users        # the table, exactly as named ("User" for a Prisma model User)
schema: public          # PostgreSQL only; default: the search path
model: AppUser          # the Prisma model name, for clerk-sync schema --prisma
key: clerk_id           # the column that holds the Clerk user id (needs a unique index)
primary_key:            # leave out when the key column is the primary key
  column: id
  fill: uuid            # clerk (the Clerk id), cuid, uuid, or default (the database's)
columns:                # column: Clerk field
  email_address: email
  first_name: first_name
  last_name: last_name
  image_url: image_url
  public_metadata: public_metadata
  notes: {field: unsafe_metadata, as: text}   # JSON kept in a text column
  created_at: created_at
  updated_at: updated_at
on_delete:
  mode: soft            # hard: delete the row; soft: set the column below
  column: deleted_at    # a timestamp (set to the deletion time) or a boolean (set true)
  type: timestamp       # or boolean

# Organizations and memberships: leave a section out and those events are
# recorded as ignored (memberships need organizations too); "default" writes
# the default table (Organization, OrganizationMembership); or map them like
# the users, onto your tables.
organizations: default
memberships:
  table: org_members
  key: clerk_id         # the Clerk membership id (orgmem_…)
  columns:
    org_id: organization_id
    user_id: user_id
    role: role
    created_at: created_at
    updated_at: updated_at
`

// Load reads the mapping file at path. Every mistake is reported with the
// file name and line.
func Load(path string) (Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Mapping{}, fmt.Errorf("read mapping: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return Mapping{}, fmt.Errorf("%s:%w", path, err)
	}
	m.Source = path
	return m, nil
}

// LoadOr reads the mapping file at path, as Load does; when no such file
// exists and named is false (the path is the default one, not one the user
// named), it returns the default mapping instead. This is the one rule
// by which clerk-sync and mockclerk check find their mapping.
func LoadOr(path string, named bool) (Mapping, error) {
	if _, err := os.Stat(path); !named && errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	return Load(path)
}

// lineError is an error at a line of the file; it prints as "LINE: msg"
// so that Load can put the file name in front.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

// Parse reads a mapping from YAML (see Example): one document.
func Parse(b []byte) (Mapping, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Mapping{}, yamlError(err)
	}
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return Mapping{}, yamlError(err)
	default:
		return Mapping{}, &lineError{next.Line, "a second YAML document (after ---): the mapping file holds one mapping; remove or merge the rest"}
	}
	if len(doc.Content) == 0 {
		return Mapping{}, &lineError{1, "the file is empty; see `clerk-sync schema --example`"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Mapping{}, errAt(root, "want a mapping of keys such as table, key and columns")
	}
	m, err := parseMapping(root, store.KindUser)
	if err != nil {
		return Mapping{}, err
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, errAt(root, "%v", err)
	}
	return m, nil
}

// parseMapping reads the mapping of one kind: the top level of the file
// (users, with the sections of the other kinds), or one such section.
func parseMapping(root *yaml.Node, kind store.Kind) (Mapping, error) {
	m := Mapping{OnDelete: store.HardDelete, DeleteAs: Time}
	what := "user"
	if kind != store.KindUser {
		m.Kind, what = kind, string(kind)
	}
	want := "table, schema, model, key, primary_key, columns, on_delete"
	if kind == store.KindUser {
		want += ", organizations, memberships"
	}
	var tableNode, deleteNode *yaml.Node
	columnNodes := map[string]*yaml.Node{}
	err := eachKey(root, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "table":
			tableNode = k
			m.Table, err = scalar(v)
		case "schema":
			m.Schema, err = scalar(v)
		case "model":
			if m.Model, err = scalar(v); err == nil && !IsPrismaName(m.Model) {
				err = errAt(v, "model %q: a Prisma model name is an ASCII letter, then letters, digits and _", m.Model)
			}
		case "key":
			m.Key, err = scalar(v)
		case "primary_key":
			err = parsePrimaryKey(v, &m)
		case "columns":
			err = parseColumns(v, &m, columnNodes)
		case "on_delete":
			deleteNode = k
			err = parseOnDelete(v, &m)
		case "organizations", "memberships":
			if kind != store.KindUser {
				return errAt(k, "%s: a section of its own at the top level of the file, not under %s", k.Value, Section(kind))
			}
			var o Mapping
			o, err = parseSection(v, store.Kind(strings.TrimSuffix(k.Value, "s")))
			m.Others = append(m.Others, o)
		default:
			err = errAt(k, "unknown key %q (want %s)", k.Value, want)
		}
		return err
	})
	if err != nil {
		return Mapping{}, err
	}
	switch {
	case m.Table == "":
		return Mapping{}, errAt(root, "no table: name the %ss table, e.g. table: %s", what, defaultFor(kind).Table)
	case m.Key == "":
		return Mapping{}, errAt(tableNode, "no key: name the column that holds the Clerk %s id, e.g. key: clerkId", what)
	}
	if m.Model == "" {
		m.Model = modelName(m.Table)
	}
	if k := columnNodes[m.Key]; k != nil {
		return Mapping{}, errAt(k, "column %q is the key, which holds the Clerk user id already; remove it from columns", m.Key)
	}
	if k := columnNodes[m.ID]; k != nil && m.HasID() {
		return Mapping{}, errAt(k, "column %q is the primary key, which primary_key fills; remove it from columns", m.ID)
	}
	if k := columnNodes[m.DeleteColumn]; k != nil && deleteNode != nil {
		return Mapping{}, errAt(deleteNode, "on_delete column %q is also written with a Clerk field (line %d); use a column of its own", m.DeleteColumn, k.Line)
	}
	return m, nil
}

// parseSection reads the organizations or memberships section: a mapping
// like the users', or "default" for the default table of the kind.
func parseSection(v *yaml.Node, kind store.Kind) (Mapping, error) {
	if v.Kind == yaml.ScalarNode && v.Value == "default" {
		return defaultFor(kind), nil
	}
	if v.Kind != yaml.MappingNode {
		return Mapping{}, errAt(v, "%s: want default (the table %s), or a mapping with table, key and columns", Section(kind), defaultFor(kind).Table)
	}
	m, err := parseMapping(v, kind)
	if err != nil {
		return Mapping{}, err
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, errAt(v, "%s: %v", Section(kind), err)
	}
	return m, nil
}

// yamlError is a YAML syntax error as "LINE: msg".
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return fmt.Errorf("1: %s", strings.Join(te.Errors, "; "))
	}
	// yaml's own messages say "yaml: line N: …".
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		return errors.New(rest)
	}
	return fmt.Errorf("1: %s", msg)
}

func eachKey(n *yaml.Node, fn func(k, v *yaml.Node) error) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return errAt(k, "%q is given twice", k.Value)
		}
		seen[k.Value] = true
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func scalar(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", errAt(v, "want a name, not a %s", kindName(v))
	}
	return v.Value, checkName(v)
}

// checkName refuses an empty name, and one with a character that is not
// printable, which would reach the terminal and the schema printers raw.
func checkName(n *yaml.Node) error {
	if strings.TrimSpace(n.Value) == "" {
		return errAt(n, "empty name")
	}
	if strings.ContainsFunc(n.Value, func(r rune) bool { return !unicode.IsPrint(r) }) || !utf8.ValidString(n.Value) {
		return errAt(n, "name %q has a control or other unprintable character; rename it", n.Value)
	}
	return nil
}

func kindName(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	if v.Tag == "!!null" {
		return "null"
	}
	return "value"
}

func parsePrimaryKey(v *yaml.Node, m *Mapping) error {
	if v.Kind == yaml.ScalarNode {
		return errAt(v, "primary_key wants column and fill, e.g. {column: id, fill: cuid}")
	}
	if v.Kind != yaml.MappingNode {
		return errAt(v, "primary_key: want a mapping with column and fill")
	}
	m.IDFill = FillDefault
	err := eachKey(v, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "column":
			m.ID, err = scalar(v)
		case "fill":
			var s string
			s, err = scalar(v)
			switch Fill(s) {
			case FillClerkID, FillCUID, FillUUID, FillDefault:
				m.IDFill = Fill(s)
			default:
				if err == nil {
					err = errAt(v, "fill %q: want clerk, cuid, uuid or default", s)
				}
			}
		default:
			err = errAt(k, "unknown key %q under primary_key (want column, fill)", k.Value)
		}
		return err
	})
	if err == nil && m.ID == "" {
		err = errAt(v, "primary_key: no column")
	}
	return err
}

func parseColumns(v *yaml.Node, m *Mapping, nodes map[string]*yaml.Node) error {
	kind := m.EntityKind()
	if v.Kind != yaml.MappingNode {
		return errAt(v, "columns: want column: field lines, e.g. email: email")
	}
	return eachKey(v, func(k, v *yaml.Node) error {
		c := Column{Name: k.Value}
		if err := checkName(k); err != nil {
			return err
		}
		var as string
		switch v.Kind {
		case yaml.ScalarNode:
			s, err := scalar(v)
			if err != nil {
				return err
			}
			c.Field = Field(s)
		case yaml.MappingNode:
			err := eachKey(v, func(k, v *yaml.Node) error {
				var err error
				switch k.Value {
				case "field":
					var s string
					s, err = scalar(v)
					c.Field = Field(s)
				case "as":
					as, err = scalar(v)
				default:
					err = errAt(k, "unknown key %q under column %q (want field, as)", k.Value, c.Name)
				}
				return err
			})
			if err != nil {
				return err
			}
		default:
			return errAt(v, "column %q: want a Clerk field name", c.Name)
		}
		if c.Field == ClerkID {
			return errAt(v, "column %q: the Clerk id goes to key (and primary_key with fill: clerk), not to columns", c.Name)
		}
		if !m.knows(c.Field) {
			return errAt(v, "column %q: unknown Clerk field %q of %s (known: %s)", c.Name, c.Field, kind, strings.Join(FieldsOf(kind), ", "))
		}
		c.As = c.Field.Kind()
		if as != "" {
			k, ok := kindByName(as)
			switch {
			case !ok:
				return errAt(v, "column %q: as %q: want text, json, timestamp or boolean", c.Name, as)
			case k != c.As && (c.As != JSON || k != Text):
				return errAt(v, "column %q: a %s column cannot hold %s, which is a %s", c.Name, k, c.Field, c.As)
			}
			c.As = k
		}
		m.Columns = append(m.Columns, c)
		nodes[c.Name] = k
		return nil
	})
}

func kindByName(s string) (Kind, bool) {
	switch strings.ToLower(s) {
	case "text", "string":
		return Text, true
	case "json", "jsonb":
		return JSON, true
	case "timestamp", "datetime":
		return Time, true
	case "boolean", "bool":
		return Bool, true
	}
	return 0, false
}

func parseOnDelete(v *yaml.Node, m *Mapping) error {
	if v.Kind == yaml.ScalarNode {
		mode, err := scalar(v)
		if err != nil {
			return err
		}
		if mode != string(store.HardDelete) {
			return errAt(v, "on_delete %q: write hard, or {mode: soft, column: deletedAt}", mode)
		}
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return errAt(v, "on_delete: want hard, or {mode: soft, column: deletedAt}")
	}
	err := eachKey(v, func(k, v *yaml.Node) error {
		s, err := scalar(v)
		if err != nil {
			return err
		}
		switch k.Value {
		case "mode":
			if s != string(store.HardDelete) && s != string(store.SoftDelete) {
				return errAt(v, "mode %q: want hard or soft", s)
			}
			m.OnDelete = store.DeleteMode(s)
		case "column":
			m.DeleteColumn = s
		case "type":
			k, ok := kindByName(s)
			if !ok || (k != Time && k != Bool) {
				return errAt(v, "type %q: want timestamp or boolean", s)
			}
			m.DeleteAs = k
		default:
			return errAt(k, "unknown key %q under on_delete (want mode, column, type)", k.Value)
		}
		return nil
	})
	if err == nil && m.OnDelete == store.SoftDelete && m.DeleteColumn == "" {
		err = errAt(v, "on_delete soft needs a column, e.g. column: deletedAt")
	}
	return err
}

// modelName turns a table name into a Prisma model name: app_users →
// AppUsers, User → User.
func modelName(table string) string {
	var b strings.Builder
	for part := range strings.FieldsFuncSeq(table, func(r rune) bool { return r == '_' || r == '-' || r == ' ' }) {
		first, size := utf8.DecodeRuneInString(part)
		b.WriteRune(unicode.ToUpper(first))
		b.WriteString(part[size:])
	}
	return b.String()
}
