package mapping

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

func mustParse(t *testing.T, yaml string) Mapping {
	t.Helper()
	m, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseExample(t *testing.T) {
	want := Mapping{
		Schema: "public", Table: "app_users", Model: "AppUser", Key: "clerk_id",
		ID: "id", IDFill: FillUUID,
		Columns: []Column{
			{"email_address", Email, Text},
			{"first_name", FirstName, Text},
			{"last_name", LastName, Text},
			{"image_url", ImageURL, Text},
			{"public_metadata", PublicMetadata, JSON},
			{"notes", UnsafeMetadata, Text},
			{"created_at", CreatedAt, Time},
			{"updated_at", UpdatedAt, Time},
		},
		OnDelete: store.SoftDelete, DeleteColumn: "deleted_at", DeleteAs: Time,
		Others: []Mapping{DefaultOrganizations(), {
			Kind: store.KindMembership, Table: "org_members", Model: "OrgMembers", Key: "clerk_id",
			Columns: []Column{
				{"org_id", OrganizationID, Text}, {"user_id", UserID, Text}, {"role", Role, Text},
				{"created_at", CreatedAt, Time}, {"updated_at", UpdatedAt, Time},
			},
			OnDelete: store.HardDelete, DeleteAs: Time,
		}},
	}
	got := mustParse(t, Example)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(Example) =\n%+v\nwant\n%+v", got, want)
	}
	if got.IsDefault() {
		t.Error("Parse(Example).IsDefault() = true")
	}
}

func TestParse(t *testing.T) {
	hard := Mapping{OnDelete: store.HardDelete, DeleteAs: Time}
	tests := []struct {
		name string
		in   string
		want func(m Mapping) Mapping // the mapping, from hard with fn applied
	}{
		{"minimal", "table: app_users\nkey: clerk_id\n", func(m Mapping) Mapping {
			m.Table, m.Model, m.Key = "app_users", "AppUsers", "clerk_id"
			return m
		}},
		{"model kept as given", "table: app_users\nmodel: Member\nkey: clerk_id\n", func(m Mapping) Mapping {
			m.Table, m.Model, m.Key = "app_users", "Member", "clerk_id"
			return m
		}},
		{"primary key fill defaults to the database's", "table: t\nkey: k\nprimary_key: {column: id}\n", func(m Mapping) Mapping {
			m.Table, m.Model, m.Key, m.ID, m.IDFill = "t", "T", "k", "id", FillDefault
			return m
		}},
		{"on_delete hard as a word", "table: t\nkey: k\non_delete: hard\n", func(m Mapping) Mapping {
			m.Table, m.Model, m.Key = "t", "T", "k"
			return m
		}},
		{"soft delete into a boolean", "table: t\nkey: k\non_delete: {mode: soft, column: deleted, type: bool}\n", func(m Mapping) Mapping {
			m.Table, m.Model, m.Key = "t", "T", "k"
			m.OnDelete, m.DeleteColumn, m.DeleteAs = store.SoftDelete, "deleted", Bool
			return m
		}},
		{"as names a kind by its aliases", "table: t\nkey: k\ncolumns:\n  a: {field: user, as: string}\n  b: {field: public_metadata, as: jsonb}\n  c: {field: locked, as: boolean}\n", func(m Mapping) Mapping {
			m.Table, m.Model, m.Key = "t", "T", "k"
			m.Columns = []Column{{"a", WholeUser, Text}, {"b", PublicMetadata, JSON}, {"c", Locked, Bool}}
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := mustParse(t, tt.in), tt.want(hard); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestParseDefault: a file that spells out the default mapping is the
// default, so clerk-sync creates its table.
// The sections of the other kinds: their own keys and fields, errors with
// their line, and a field of another kind refused.
func TestParseSections(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"table: u\nkey: k\norganizations: {table: o}\n", "3: no key: name the column that holds the Clerk organization id"},
		{"table: u\nkey: k\nmemberships: {table: m, key: k, columns: {e: email}}\n", `column "e": unknown Clerk field "email" of membership`},
		{"table: u\nkey: k\norganizations: [1]\n", "3: organizations: want default"},
		{"table: u\nkey: k\norganizations: {table: u, key: k}\n", `table "u" is the table of the users already`},
		{"table: u\nkey: k\nmemberships: {table: m, key: k, organizations: default}\n", "organizations: a section of its own at the top level"},
		{"table: u\nkey: k\nmembers: default\n", `unknown key "members"`},
		{"table: u\nkey: k\nmemberships: default\n", "memberships without organizations: an organization's deletion could not remove its memberships; add `organizations: default`"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	m := mustParse(t, "table: u\nkey: k\norganizations: default\nmemberships: default\n")
	if got, ok := m.For(store.KindMembership); !ok || !got.IsDefault() {
		t.Fatalf("memberships: default gave %+v, %v", got, ok)
	}
	m = mustParse(t, "table: u\nkey: k\n")
	if _, ok := m.For(store.KindOrganization); ok {
		t.Fatal("organizations are synced without a section")
	}
}

func TestParseDefault(t *testing.T) {
	m := mustParse(t, `table: User
key: clerkId
primary_key: {column: id, fill: clerk}
columns:
  email: email
  firstName: first_name
  lastName: last_name
  username: username
  imageUrl: image_url
  createdAt: created_at
  updatedAt: updated_at
on_delete: {mode: soft, column: deletedAt}
`)
	if !m.IsDefault() {
		t.Errorf("IsDefault() = false for %+v", m)
	}
	if want := DefaultUsers().WithDelete(store.SoftDelete); !reflect.DeepEqual(m, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", m, want)
	}
}

func TestModelName(t *testing.T) {
	tests := []struct {
		table, want string
	}{
		{"User", "User"},
		{"users", "Users"},
		{"app_users", "AppUsers"},
		{"user-profiles", "UserProfiles"},
		{"my users", "MyUsers"},
		{"__users__", "Users"},
		{"élèves", "Élèves"},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			got := modelName(tt.table)
			if got != tt.want || !utf8.ValidString(got) {
				t.Errorf("modelName(%q) = %q, want %q", tt.table, got, tt.want)
			}
		})
	}
}

// TestParseErrors: every mistake names its line first ("N: "), then the
// problem.
func TestParseErrors(t *testing.T) {
	const head = "table: User\nkey: clerkId\n" // lines 1 and 2
	tests := []struct {
		name  string
		in    string
		line  int
		words []string
	}{
		{"YAML tab indentation", "table: User\n\tkey: x\n", 2, []string{"tab character"}},
		{"YAML mapping in a scalar", head + "columns:\n  email: email\n   x: y\n", 5, []string{"mapping values are not allowed"}},
		{"empty file", "", 1, []string{"the file is empty", "clerk-sync schema --example"}},
		{"comments only", "# nothing yet\n\n", 1, []string{"the file is empty"}},
		{"not a mapping", "- table\n- key\n", 1, []string{"want a mapping of keys"}},
		{"unknown top-level key", head + "colums:\n  email: email\n", 3, []string{`unknown key "colums"`, "columns"}},
		{"duplicate key", head + "key: email\n", 3, []string{`"key" is given twice`}},
		{"duplicate column", head + "columns:\n  email: email\n  email: first_name\n", 5, []string{`"email" is given twice`}},
		{"table is null", "table:\nkey: clerkId\n", 1, []string{"want a name, not a null"}},
		{"key is a list", "table: User\nkey: [a, b]\n", 2, []string{"want a name, not a list"}},
		{"no table", "# users\nkey: clerkId\n", 2, []string{"no table"}},
		{"no key", "schema: public\ntable: User\n", 2, []string{"no key", "Clerk user id"}},
		{"unknown Clerk field", head + "columns:\n  email: e-mail\n", 4, []string{`unknown Clerk field "e-mail"`, "known: " + strings.Join(Fields(), ", ")}},
		{"unknown Clerk field in a mapping", head + "columns:\n  email:\n    field: mail\n", 5, []string{`unknown Clerk field "mail"`}},
		{"Clerk id as a column", head + "columns:\n  cid: id\n", 4, []string{"the Clerk id goes to key"}},
		{"as cannot hold the field", head + "columns:\n  banned: {field: banned, as: json}\n", 4, []string{"a json column cannot hold banned", "boolean"}},
		{"as of a text field", head + "columns:\n  signed_in: {field: last_sign_in_at, as: text}\n", 4, []string{"a text column cannot hold last_sign_in_at", "timestamp"}},
		{"as unknown kind", head + "columns:\n  email: {field: email, as: varchar}\n", 4, []string{`as "varchar"`, "text, json, timestamp or boolean"}},
		{"unknown key under a column", head + "columns:\n  email: {field: email, type: text}\n", 4, []string{`unknown key "type" under column "email"`}},
		{"column is a list", head + "columns:\n  email: [email]\n", 4, []string{`column "email": want a Clerk field name`}},
		{"bad primary_key fill", head + "primary_key:\n  column: id\n  fill: serial\n", 5, []string{`fill "serial"`, "clerk, cuid, uuid or default"}},
		{"primary_key without a column", head + "primary_key: {fill: cuid}\n", 3, []string{"primary_key: no column"}},
		{"primary_key as a word", head + "primary_key: id\n", 3, []string{"primary_key wants column and fill"}},
		{"unknown key under primary_key", head + "primary_key: {column: id, default: cuid}\n", 3, []string{`unknown key "default" under primary_key`}},
		{"on_delete soft without a column", head + "on_delete:\n  mode: soft\n", 4, []string{"on_delete soft needs a column"}},
		{"on_delete soft as a word", head + "on_delete: soft\n", 3, []string{`on_delete "soft"`, "{mode: soft, column: deletedAt}"}},
		{"on_delete bad mode", head + "on_delete:\n  mode: archive\n  column: deleted\n", 4, []string{`mode "archive"`, "hard or soft"}},
		{"on_delete bad type", head + "on_delete: {mode: soft, column: deleted, type: text}\n", 3, []string{`type "text"`, "timestamp or boolean"}},
		{"unknown key under on_delete", head + "on_delete: {mode: soft, col: deleted}\n", 3, []string{`unknown key "col" under on_delete`}},
		{"column that is also the key", head + "columns:\n  email: email\n  clerkId: first_name\n", 5, []string{`"clerkId"`, "key"}},
		{"a second document", head + "---\ntable: Other\nkey: clerk_id\n", 3, []string{"a second YAML document", "one mapping"}},
		{"an empty second document", head + "---\n# later\n", 3, []string{"a second YAML document"}},
		{"a broken second document", head + "---\ntable: [\n", 4, []string{"did not find expected node content"}},
		{"a control character in the table", "table: \"User\\e[2J\"\nkey: clerkId\n", 1, []string{`name "User\x1b[2J" has a control`}},
		{"a control character in a column", head + "columns:\n  \"mail\\u0007\": email\n", 4, []string{`name "mail\a" has a control`}},
		{"a control character in the key", "table: User\nkey: \"clerk\\x00Id\"\n", 2, []string{`name "clerk\x00Id" has a control`}},
		{"a model Prisma cannot take", head + "model: App-User\n", 3, []string{`model "App-User"`, "an ASCII letter, then letters, digits and _"}},
		{"soft delete column that is also written", head + "columns:\n  deleted_at: updated_at\non_delete: {mode: soft, column: deleted_at}\n", 5, []string{`on_delete column "deleted_at" is also written`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			msg := err.Error()
			if prefix := strconv.Itoa(tt.line) + ": "; !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			for _, w := range tt.words {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("good", func(t *testing.T) {
		path := write("good.yaml", Example)
		m, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if m.Source != path || m.Table != "app_users" {
			t.Errorf("Load = table %q from %q, want app_users from %q", m.Table, m.Source, path)
		}
	})
	t.Run("mistake names the file and line", func(t *testing.T) {
		path := write("bad.yaml", "table: User\nkey: clerkId\ncolumns:\n  email: mail\n")
		_, err := Load(path)
		if want := path + ":4: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("Load = %v, want an error starting with %q", err, want)
		}
		if !strings.Contains(err.Error(), `unknown Clerk field "mail"`) {
			t.Errorf("Load = %v, want the unknown field named", err)
		}
	})
	t.Run("YAML mistake names the file and line", func(t *testing.T) {
		path := write("tab.yaml", "table: User\n\tkey: x\n")
		if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+":2: ") {
			t.Fatalf("Load = %v, want an error starting with %q", err, path+":2: ")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "none.yaml"))
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "read mapping") {
			t.Errorf("Load = %v, want a read mapping error wrapping fs.ErrNotExist", err)
		}
	})
	// LoadOr: the default mapping stands in for a default path with no
	// file, never for a file the user named, nor for a file that exists.
	t.Run("LoadOr", func(t *testing.T) {
		none := filepath.Join(dir, "none.yaml")
		if m, err := LoadOr(none, false); err != nil || m.Table != Default().Table || m.Source != "" {
			t.Errorf("LoadOr(no file, not named) = table %q from %q, %v; want the default mapping", m.Table, m.Source, err)
		}
		if _, err := LoadOr(none, true); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("LoadOr(no file, named) = %v, want fs.ErrNotExist", err)
		}
		good := write("good-or.yaml", Example)
		for _, named := range []bool{false, true} {
			if m, err := LoadOr(good, named); err != nil || m.Source != good {
				t.Errorf("LoadOr(file, named %v) = from %q, %v; want the file", named, m.Source, err)
			}
		}
		bad := write("bad-or.yaml", "table: User\n\tkey: x\n")
		if _, err := LoadOr(bad, false); err == nil {
			t.Error("LoadOr(a bad file at the default path) = nil error, want the file's mistake, not the default mapping")
		}
	})
}
