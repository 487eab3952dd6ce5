// Package mapping says how a Clerk user becomes a row of the app's own
// users table: which table, which column holds the Clerk user id, how the
// primary key is filled, which Clerk field goes to which column, and what
// user.deleted does. The default mapping is the table of DESIGN §4; a
// clerk-sync.yaml describes any other (see Load).
//
// The drivers generate their statements from a mapping and the table's
// real column types (TableInfo); Check compares the two before the first
// delivery, so that a mismatch stops start-up instead of failing every
// event.
package mapping

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/lucsky/cuid"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Kind is the kind of value a Clerk field holds.
type Kind int

// Value kinds.
const (
	Text Kind = iota
	Time
	Bool
	JSON
)

// String names the kind as a mapping file does: text, timestamp, boolean
// or json.
func (k Kind) String() string {
	return [...]string{"text", "timestamp", "boolean", "json"}[k]
}

// prisma is the Prisma scalar type of the kind.
func (k Kind) prisma() string {
	return [...]string{"String", "DateTime", "Boolean", "Json"}[k]
}

// Field is a Clerk user field that a column can hold.
type Field string

// The fields a mapping may name.
const (
	ClerkID         Field = "id"               // the Clerk user id: the key, never a column
	Email           Field = "email"            // the primary email address (not [0])
	FirstName       Field = "first_name"       //
	LastName        Field = "last_name"        //
	FullName        Field = "full_name"        // first and last name, space-separated
	Username        Field = "username"         //
	ImageURL        Field = "image_url"        //
	Phone           Field = "phone"            // the primary phone number
	ExternalID      Field = "external_id"      //
	PublicMetadata  Field = "public_metadata"  // JSON
	PrivateMetadata Field = "private_metadata" // JSON
	UnsafeMetadata  Field = "unsafe_metadata"  // JSON
	CreatedAt       Field = "created_at"       // time
	UpdatedAt       Field = "updated_at"       // time
	LastSignInAt    Field = "last_sign_in_at"  // time, null until the first sign-in
	Banned          Field = "banned"           // boolean
	Locked          Field = "locked"           // boolean
	WholeUser       Field = "user"             // the whole user object (JSON)
)

// fieldInfo describes a field: its kind, and whether Clerk may leave it
// empty (a NOT NULL column then fails for such users).
type fieldInfo struct {
	kind     Kind
	nullable bool
	path     string // where it is in the entity's object (gjson), for kinds other than users
}

var fields = map[Field]fieldInfo{
	Email:           {Text, true, ""},
	FirstName:       {Text, true, ""},
	LastName:        {Text, true, ""},
	FullName:        {Text, true, ""},
	Username:        {Text, true, ""},
	ImageURL:        {Text, true, ""},
	Phone:           {Text, true, ""},
	ExternalID:      {Text, true, ""},
	PublicMetadata:  {JSON, false, ""},
	PrivateMetadata: {JSON, false, ""},
	UnsafeMetadata:  {JSON, false, ""},
	CreatedAt:       {Time, false, ""},
	UpdatedAt:       {Time, false, ""},
	LastSignInAt:    {Time, true, ""},
	Banned:          {Bool, false, ""},
	Locked:          {Bool, false, ""},
	WholeUser:       {JSON, false, ""},
}

// fieldsOf are the fields of each kind of entity.
var fieldsOf = map[store.Kind]map[Field]fieldInfo{
	store.KindUser:         fields,
	store.KindOrganization: organizationFields,
	store.KindMembership:   membershipFields,
}

// Fields lists the field names a user mapping may use, sorted.
func Fields() []string { return FieldsOf(store.KindUser) }

// FieldsOf lists the field names a mapping of kind may use, sorted.
func FieldsOf(kind store.Kind) []string {
	names := make([]string, 0, len(fieldsOf[kind]))
	for f := range fieldsOf[kind] {
		names = append(names, string(f))
	}
	slices.Sort(names)
	return names
}

// info describes the field f of any kind: a field name means one kind of
// value in every kind of entity that has it.
func (f Field) info() (fieldInfo, bool) {
	for _, k := range store.Kinds {
		if i, ok := fieldsOf[k][f]; ok {
			return i, true
		}
	}
	return fieldInfo{}, false
}

// Kind is the kind of value the field holds.
func (f Field) Kind() Kind {
	i, _ := f.info()
	return i.kind
}

// Nullable reports whether Clerk may send the field empty.
func (f Field) Nullable() bool {
	i, _ := f.info()
	return i.nullable
}

// knows reports whether an entity of the mapping's kind has the field.
func (m Mapping) knows(f Field) bool {
	_, ok := fieldsOf[m.EntityKind()][f]
	return ok
}

// Fill says how the primary key of a new row is filled when it is not the
// key column itself.
type Fill string

// Primary-key fills.
const (
	FillClerkID Fill = "clerk"   // the Clerk user id
	FillCUID    Fill = "cuid"    // a new cuid, as Prisma's @default(cuid())
	FillUUID    Fill = "uuid"    // a new UUID v4, as Prisma's @default(uuid())
	FillDefault Fill = "default" // the database's own default (serial, gen_random_uuid() …)
)

// Column is one column that the sync writes.
type Column struct {
	Name  string
	Field Field
	// As is the kind the column holds the field as: the field's own kind,
	// or Text for a JSON field kept in a text column.
	As Kind
}

// Mapping is how a Clerk entity (a user, by default) becomes a row. The
// users' mapping also holds the mappings of the other kinds it syncs.
type Mapping struct {
	// Kind is the kind of entity; "" is a user.
	Kind store.Kind
	// Others are the mappings of the other kinds, on the users' mapping
	// only: a kind without one is not synced (its events are ignored).
	Others []Mapping
	// Index names columns that the default table indexes (DDL only).
	Index []string
	// Schema is the PostgreSQL schema of Table; "" is the search path.
	Schema string
	// Table is the users table, exactly as named (quoted, case kept).
	Table string
	// Model is the Prisma model name, for `clerk-sync schema --prisma`.
	Model string
	// Key is the column that holds the Clerk user id: the upsert key. It
	// needs a unique index.
	Key string
	// ID is the primary key column when it is not Key, and how it is
	// filled. ID == "" or ID == Key: the key is the primary key.
	ID     string
	IDFill Fill
	// Columns are the other columns written, in order.
	Columns []Column
	// OnDelete is what user.deleted does to the row; a soft delete sets
	// DeleteColumn (a timestamp: the deletion time; a boolean: true).
	OnDelete     store.DeleteMode
	DeleteColumn string
	DeleteAs     Kind // Time or Bool
	// Source is the file the mapping came from; "" for the default.
	Source string
}

// Default is the mapping of DESIGN §4: the Prisma model User, keyed and
// identified by the Clerk user id, with hard deletes (a soft delete sets
// "deletedAt"); with it the default organizations and memberships.
func Default() Mapping {
	m := DefaultUsers()
	m.Others = []Mapping{DefaultOrganizations(), DefaultMemberships()}
	return m
}

// DefaultUsers is the default users table alone.
func DefaultUsers() Mapping {
	return Mapping{
		Table: "User", Model: "User", Key: "clerkId", ID: "id", IDFill: FillClerkID,
		Columns: []Column{
			{"email", Email, Text}, {"firstName", FirstName, Text}, {"lastName", LastName, Text},
			{"username", Username, Text}, {"imageUrl", ImageURL, Text},
			{"createdAt", CreatedAt, Time}, {"updatedAt", UpdatedAt, Time},
		},
		OnDelete: store.HardDelete, DeleteColumn: "deletedAt", DeleteAs: Time,
	}
}

// EntityKind is the kind of entity the mapping writes.
func (m Mapping) EntityKind() store.Kind {
	if m.Kind == "" {
		return store.KindUser
	}
	return m.Kind
}

// Projections are the mappings of every kind synced: m itself (the
// users'), then the others.
func (m Mapping) Projections() []Mapping {
	return append([]Mapping{m}, m.Others...)
}

// For returns the mapping of kind, if it is synced.
func (m Mapping) For(kind store.Kind) (Mapping, bool) {
	for _, p := range m.Projections() {
		if p.EntityKind() == kind {
			return p, true
		}
	}
	return Mapping{}, false
}

// defaultFor is the default mapping of kind.
func defaultFor(kind store.Kind) Mapping {
	switch kind {
	case store.KindOrganization:
		return DefaultOrganizations()
	case store.KindMembership:
		return DefaultMemberships()
	}
	return DefaultUsers()
}

// IsDefault reports whether m writes the default table of its kind
// (whatever its delete mode): only then does clerk-sync create the table
// itself.
func (m Mapping) IsDefault() bool {
	d := defaultFor(m.EntityKind())
	return m.Schema == "" && m.Table == d.Table && m.Key == d.Key && m.ID == d.ID && m.IDFill == d.IDFill &&
		slices.Equal(m.Columns, d.Columns) && m.DeleteColumn == d.DeleteColumn && m.DeleteAs == d.DeleteAs
}

// WithDelete returns m, and the mappings of the other kinds, with
// deletions set to mode.
func (m Mapping) WithDelete(mode store.DeleteMode) Mapping {
	m.OnDelete = mode
	m.Others = slices.Clone(m.Others)
	for i := range m.Others {
		m.Others[i].OnDelete = mode
	}
	return m
}

// NewID is the primary key of a new row for the Clerk user clerkID, as
// IDFill says: the Clerk id, a cuid (Prisma's cuid(): v1, 25 characters)
// or a UUID v4, both from crypto/rand so that replicas never collide; ""
// for FillDefault, where the database fills it.
func (m Mapping) NewID(clerkID string) string {
	switch m.IDFill {
	case FillClerkID:
		return clerkID
	case FillCUID:
		id, err := cuid.NewCrypto(rand.Reader)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		return id
	case FillUUID:
		return uuid.NewString()
	}
	return ""
}

// HasID reports whether the primary key is a column of its own, filled
// by IDFill.
func (m Mapping) HasID() bool { return m.ID != "" && m.ID != m.Key }

// ColumnNames names the column of each Clerk field the mapping writes,
// and of "id" (the primary key), "key" and "deleted" (the soft-delete
// column): what the inspector labels a row's values with.
func (m Mapping) ColumnNames() map[string]string {
	names := map[string]string{"id": m.Key, "key": m.Key, "deleted": m.DeleteColumn}
	if m.HasID() {
		names["id"] = m.ID
	}
	for _, c := range m.Columns {
		names[string(c.Field)] = c.Name
	}
	return names
}

// Validate checks what can be checked without a database.
func (m Mapping) Validate() error {
	if m.Table == "" {
		return fmt.Errorf("no table")
	}
	if m.Key == "" {
		return fmt.Errorf("no key column (the column that holds the Clerk user id)")
	}
	seen := map[string]bool{m.Key: true}
	if m.HasID() {
		switch m.IDFill {
		case FillClerkID, FillCUID, FillUUID, FillDefault:
		default:
			return fmt.Errorf("primary_key.fill %q: want clerk, cuid, uuid or default", m.IDFill)
		}
		seen[m.ID] = true
	}
	for _, c := range m.Columns {
		if !m.knows(c.Field) {
			return fmt.Errorf("column %q: unknown Clerk field %q of %s (known: %s)", c.Name, c.Field, m.EntityKind(), strings.Join(FieldsOf(m.EntityKind()), ", "))
		}
		if seen[c.Name] {
			return fmt.Errorf("column %q is named twice", c.Name)
		}
		seen[c.Name] = true
		if c.As != c.Field.Kind() && (c.Field.Kind() != JSON || c.As != Text) {
			return fmt.Errorf("column %q: a %s column cannot hold %s (a %s)", c.Name, c.As, c.Field, c.Field.Kind())
		}
	}
	switch m.OnDelete {
	case store.HardDelete:
	case store.SoftDelete:
		if m.DeleteColumn == "" {
			return fmt.Errorf("on_delete soft needs a column (a timestamp such as deletedAt, or a boolean such as deleted)")
		}
		if seen[m.DeleteColumn] {
			return fmt.Errorf("on_delete column %q is also written with a Clerk field", m.DeleteColumn)
		}
	default:
		return fmt.Errorf("on_delete %q: want hard or soft", m.OnDelete)
	}
	if m.DeleteAs != Time && m.DeleteAs != Bool {
		return fmt.Errorf("on_delete column %q: want a timestamp or boolean, not %s", m.DeleteColumn, m.DeleteAs)
	}
	tables := map[string]store.Kind{m.Schema + "." + m.Table: m.EntityKind()}
	for _, o := range m.Others {
		k := o.EntityKind()
		if k == store.KindUser || len(o.Others) > 0 {
			return fmt.Errorf("%s: only organizations and memberships are mapped beside the users", k)
		}
		if err := o.Validate(); err != nil {
			return fmt.Errorf("%s: %w", Section(k), err)
		}
		if other, ok := tables[o.Schema+"."+o.Table]; ok {
			return fmt.Errorf("%s: table %q is the table of the %s already; give each kind a table of its own", Section(k), o.Table, Section(other))
		}
		tables[o.Schema+"."+o.Table] = k
	}
	// An organization's deletion removes its memberships through the
	// organization's own bookkeeping, which only a kept kind has.
	_, orgs := m.For(store.KindOrganization)
	if _, members := m.For(store.KindMembership); m.EntityKind() == store.KindUser && members && !orgs {
		return fmt.Errorf("%s without %s: an organization's deletion could not remove its memberships; add `%s: default` (or your own table)",
			Section(store.KindMembership), Section(store.KindOrganization), Section(store.KindOrganization))
	}
	return nil
}
