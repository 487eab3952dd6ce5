package mapping

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

func ptr[T any](v T) *T { return &v }

var (
	created  = time.Date(2023, 11, 14, 22, 13, 20, 123e6, time.UTC) // Unix ms 1700000000123
	updated  = created.Add(time.Hour)
	signedIn = created.Add(2 * time.Hour)
)

func TestValue(t *testing.T) {
	full := &store.Change{
		Kind: store.KindUser, ID: "user_2abc", Version: updated.UnixMilli(),
		Email: ptr("ada@example.com"), FirstName: ptr("Ada"), LastName: ptr("Lovelace"),
		Username: ptr("ada"), ImageURL: ptr("https://img.example/ada.png"),
		CreatedAt: created, UpdatedAt: updated,
		Phone: ptr("+15555550100"), ExternalID: ptr("ext-1"), LastSignInAt: &signedIn,
		Banned: true, Locked: false,
		PublicMetadata:  []byte(`{ "plan": "pro", "seats": [1, 2] }`),
		PrivateMetadata: []byte(`{}`),
		UnsafeMetadata:  []byte("{\n  \"theme\": \"dark\"\n}"),
		Data:            []byte(`{"id": "user_2abc", "first_name": "Ada"}`),
	}
	empty := &store.Change{Kind: store.KindUser, ID: "user_2abc", CreatedAt: created, UpdatedAt: updated}
	tests := map[Field]struct{ full, empty any }{
		Email:           {"ada@example.com", nil},
		FirstName:       {"Ada", nil},
		LastName:        {"Lovelace", nil},
		FullName:        {"Ada Lovelace", nil},
		Username:        {"ada", nil},
		ImageURL:        {"https://img.example/ada.png", nil},
		Phone:           {"+15555550100", nil},
		ExternalID:      {"ext-1", nil},
		PublicMetadata:  {json.RawMessage(`{"plan":"pro","seats":[1,2]}`), nil},
		PrivateMetadata: {json.RawMessage(`{}`), nil},
		UnsafeMetadata:  {json.RawMessage(`{"theme":"dark"}`), nil},
		WholeUser:       {json.RawMessage(`{"id":"user_2abc","first_name":"Ada"}`), nil},
		CreatedAt:       {created, created},
		UpdatedAt:       {updated, updated},
		LastSignInAt:    {signedIn, nil},
		Banned:          {true, false},
		Locked:          {false, false},
	}
	if len(tests) != len(Fields()) {
		t.Errorf("%d cases for %d fields: a case names a field that Fields() does not list", len(tests), len(Fields()))
	}
	for _, name := range Fields() {
		t.Run(name, func(t *testing.T) {
			f := Field(name)
			want, ok := tests[f]
			if !ok {
				t.Fatalf("no test for field %s", f)
			}
			if got := Value(f, full); !reflect.DeepEqual(got, want.full) {
				t.Errorf("Value(%s, full) = %#v, want %#v", f, got, want.full)
			}
			if got := Value(f, empty); !reflect.DeepEqual(got, want.empty) {
				t.Errorf("Value(%s, empty) = %#v, want %#v", f, got, want.empty)
			}
		})
	}
}

func TestValueFullName(t *testing.T) {
	tests := []struct {
		first, last *string
		want        any
	}{
		{ptr("Ada"), ptr("Lovelace"), "Ada Lovelace"},
		{ptr("Ada"), nil, "Ada"},
		{nil, ptr("Lovelace"), "Lovelace"},
		{nil, nil, nil},
	}
	for _, tt := range tests {
		c := &store.Change{FirstName: tt.first, LastName: tt.last}
		if got := Value(FullName, c); got != tt.want {
			t.Errorf("Value(full_name) of %v %v = %#v, want %#v", tt.first, tt.last, got, tt.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	const ms = int64(1700000000123)
	const at = "2023-11-14T22:13:20.123Z"
	plus2 := time.FixedZone("+02", 2*60*60)
	tests := []struct {
		name string
		k    Kind
		in   any
		want string
		ok   bool
	}{
		{"NULL", Text, nil, "", false},
		{"NULL time", Time, nil, "", false},
		{"text", Text, "Ada", "Ada", true},
		{"text bytes", Text, []byte("Ada"), "Ada", true},
		{"empty text is not NULL", Text, "", "", true},

		{"time as Unix ms", Time, ms, at, true},
		{"time as float ms", Time, float64(ms), at, true},
		{"time as ms text", Time, "1700000000123", at, true},
		{"time as ms bytes", Time, []byte("1700000000123"), at, true},
		{"time as RFC 3339", Time, at, at, true},
		{"time as RFC 3339 with offset", Time, "2023-11-15T00:13:20.123+02:00", at, true},
		{"time as SQLite CURRENT_TIMESTAMP", Time, "2023-11-14 22:13:20", "2023-11-14T22:13:20.000Z", true},
		{"time as SQLite text with ms", Time, "2023-11-14 22:13:20.123", at, true},
		{"time as SQLite text with offset", Time, "2023-11-15 00:13:20.123+02:00", at, true},
		{"time.Time", Time, created, at, true},
		{"time.Time in another zone", Time, created.In(plus2), at, true},
		{"time.Time cut to ms", Time, created.Add(456789 * time.Nanosecond), at, true},

		{"bool", Bool, true, "true", true},
		{"bool false", Bool, false, "false", true},
		{"bool as int 1", Bool, int64(1), "true", true},
		{"bool as int 0", Bool, int64(0), "false", true},
		{"bool as t", Bool, "t", "true", true},
		{"bool as f", Bool, "f", "false", true},
		{"bool as TRUE", Bool, "TRUE", "true", true},
		{"bool as 0 text", Bool, "0", "false", true},
		{"bool as bytes", Bool, []byte("true"), "true", true},

		{"JSON sorted and compact", JSON, `{"b": 2, "a": {"d": [1, 2], "c": null}}`, `{"a":{"c":null,"d":[1,2]},"b":2}`, true},
		{"JSON bytes", JSON, []byte("{\n  \"z\": true,\n  \"y\": \"s\"\n}"), `{"y":"s","z":true}`, true},
		{"JSON numbers kept exactly", JSON, `[12345678901234567890, 1.50]`, `[12345678901234567890,1.50]`, true},
		{"JSON null", JSON, `null`, `null`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := Canonical(tt.k, tt.in)
			if err != nil || got != tt.want || ok != tt.ok {
				t.Errorf("Canonical(%s, %#v) = %q, %v, %v; want %q, %v, nil", tt.k, tt.in, got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestCanonicalErrors(t *testing.T) {
	tests := []struct {
		name string
		k    Kind
		in   any
		want string // in the error
	}{
		{"text column holding an int", Text, int64(1), "a text column holds int64"},
		{"time column holding a word", Time, "yesterday", "a timestamp column holds yesterday"},
		{"time column holding a bool", Time, true, "a timestamp column holds true"},
		{"bool column holding maybe", Bool, "maybe", "a boolean column holds string"},
		{"bool column holding a float", Bool, 1.0, "a boolean column holds float64"},
		{"JSON column holding text", JSON, "not json", `column holds "not json", not JSON`},
		{"JSON column holding an int", JSON, int64(1), "a json column holds int64"},
		{"JSON column holding JSON and more", JSON, `{"a":1}}`, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok, err := Canonical(tt.k, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Canonical(%s, %#v) = %q, %v, %v; want an error with %q", tt.k, tt.in, s, ok, err, tt.want)
			}
		})
	}
}

func TestUser(t *testing.T) {
	m := Mapping{
		Table: "users", Key: "clerk_id",
		Columns: []Column{
			{"email", Email, Text}, {"first_name", FirstName, Text}, {"last_name", LastName, Text},
			{"username", Username, Text}, {"image_url", ImageURL, Text},
			{"created_at", CreatedAt, Time}, {"updated_at", UpdatedAt, Time},
			{"phone", Phone, Text}, {"banned", Banned, Bool}, {"public_metadata", PublicMetadata, JSON},
			{"notes", UnsafeMetadata, Text}, {"last_sign_in_at", LastSignInAt, Time},
		},
		OnDelete: store.SoftDelete, DeleteColumn: "deleted_at", DeleteAs: Time,
	}
	// As the SQLite driver reads them.
	vals := []any{
		"ada@example.com", []byte("Ada"), nil, "ada", nil,
		created.UnixMilli(), "2023-11-14 23:13:20",
		"+15555550100", int64(1), `{"b": 1, "a": 2}`,
		`{"x": 1}`, nil,
	}
	deletedAt := signedIn
	want := store.User{
		ID: "7", ClerkID: "user_2abc",
		Email: ptr("ada@example.com"), FirstName: ptr("Ada"), Username: ptr("ada"),
		CreatedAt: created, UpdatedAt: time.Date(2023, 11, 14, 23, 13, 20, 0, time.UTC),
		Deleted: true, DeletedAt: &deletedAt,
		Other: map[string]string{
			"phone": "+15555550100", "banned": "true",
			"public_metadata": `{"a":2,"b":1}`, "unsafe_metadata": `{"x": 1}`,
		},
	}
	got, err := m.User("7", "user_2abc", vals, signedIn.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("User =\n%+v\nwant\n%+v", got, want)
	}
}

// TestUserDeleted: the soft-delete column as each driver reads it.
func TestUserDeleted(t *testing.T) {
	at := signedIn
	tests := []struct {
		name      string
		as        Kind
		column    string
		deleted   any
		want      bool
		wantAt    *time.Time
		wantError string
	}{
		{"timestamp NULL", Time, "deletedAt", nil, false, nil, ""},
		{"timestamp ms text (PostgreSQL)", Time, "deletedAt", "1700007200123", true, &at, ""},
		{"timestamp ms (SQLite)", Time, "deletedAt", at.UnixMilli(), true, &at, ""},
		{"boolean true (PostgreSQL)", Bool, "deleted", "true", true, nil, ""},
		{"boolean false (PostgreSQL)", Bool, "deleted", "false", false, nil, ""},
		{"boolean 1 (SQLite)", Bool, "deleted", int64(1), true, nil, ""},
		{"boolean 0 (SQLite)", Bool, "deleted", int64(0), false, nil, ""},
		{"no delete column", Time, "", nil, false, nil, ""},
		{"bad timestamp", Time, "deletedAt", "soon", false, nil, `column "deletedAt": a timestamp column holds soon`},
		{"bad boolean", Bool, "deleted", "maybe", false, nil, `column "deleted": a boolean column holds string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Default()
			m.Columns = nil
			m.DeleteColumn, m.DeleteAs = tt.column, tt.as
			u, err := m.User("id_1", "user_1", nil, tt.deleted)
			if tt.wantError != "" {
				if err == nil || err.Error() != tt.wantError {
					t.Errorf("User error = %v, want %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Deleted != tt.want || !reflect.DeepEqual(u.DeletedAt, tt.wantAt) {
				t.Errorf("User: Deleted %v at %v, want %v at %v", u.Deleted, u.DeletedAt, tt.want, tt.wantAt)
			}
		})
	}
}

func TestUserErrors(t *testing.T) {
	m := Default()
	m.Columns = []Column{{"email", Email, Text}, {"banned", Banned, Bool}}
	_, err := m.User("id_1", "user_1", []any{"a@example.com", "maybe"}, nil)
	if want := `column "banned": a boolean column holds string`; err == nil || err.Error() != want {
		t.Errorf("User error = %v, want %q", err, want)
	}
}

// TestUserDefault: the default columns all have members of their own.
func TestUserDefault(t *testing.T) {
	vals := []any{"ada@example.com", "Ada", "Lovelace", "ada", "https://img.example/ada.png", created, updated}
	u, err := Default().User("user_1", "user_1", vals, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := store.User{
		ID: "user_1", ClerkID: "user_1",
		Email: ptr("ada@example.com"), FirstName: ptr("Ada"), LastName: ptr("Lovelace"),
		Username: ptr("ada"), ImageURL: ptr("https://img.example/ada.png"),
		CreatedAt: created, UpdatedAt: updated,
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("User =\n%+v\nwant\n%+v", u, want)
	}
}

// TestValueOtherKinds: every field of an organization and of a membership
// reads the value Clerk sent, as the column takes it; a field that the
// body leaves out or sends as null is NULL.
func TestValueOtherKinds(t *testing.T) {
	parse := func(body string) *store.Change {
		t.Helper()
		_, c, err := clerk.Parse([]byte(body))
		if err != nil || c == nil {
			t.Fatalf("parse: %+v, %v", c, err)
		}
		return c
	}
	created, updated := time.UnixMilli(1716883200000).UTC(), time.UnixMilli(1716883260000).UTC()
	org := parse(`{"type":"organization.updated","data":{"object":"organization","id":"org_1","name":"Acme",
		"slug":"acme","image_url":"https://img.clerk.com/acme","created_by":"user_1","admin_delete_enabled":true,
		"public_metadata":{"plan": "pro"},"private_metadata":{},"created_at":1716883200000,"updated_at":1716883260000}}`)
	bare := parse(`{"type":"organization.created","data":{"id":"org_2","name":"Bare","slug":null,"created_at":1716883200000,"updated_at":1716883260000}}`)
	member := parse(`{"type":"organizationMembership.updated","data":{"object":"organization_membership","id":"orgmem_1",
		"role":"org:admin","role_name":"Admin","permissions":["org:posts:read"],"public_metadata":{},"private_metadata":{"k": 1},
		"organization":{"id":"org_1"},"public_user_data":{"user_id":"user_1","identifier":"ada@example.com"},
		"created_at":1716883200000,"updated_at":1716883260000}}`)
	tests := map[store.Kind]map[Field]struct{ full, bare any }{
		store.KindOrganization: {
			Name: {"Acme", "Bare"}, Slug: {"acme", nil}, ImageURL: {"https://img.clerk.com/acme", nil},
			CreatedBy: {"user_1", nil}, AdminDeleteEnabled: {true, false},
			PublicMetadata: {json.RawMessage(`{"plan":"pro"}`), nil}, PrivateMetadata: {json.RawMessage(`{}`), nil},
			CreatedAt: {created, created}, UpdatedAt: {updated, updated},
		},
		store.KindMembership: {
			OrganizationID: {"org_1", nil}, UserID: {"user_1", nil}, Role: {"org:admin", nil}, RoleName: {"Admin", nil},
			Permissions: {json.RawMessage(`["org:posts:read"]`), nil}, Identifier: {"ada@example.com", nil},
			PublicMetadata: {json.RawMessage(`{}`), nil}, PrivateMetadata: {json.RawMessage(`{"k":1}`), nil},
			CreatedAt: {created, created}, UpdatedAt: {updated, updated},
		},
	}
	bareMember := &store.Change{Kind: store.KindMembership, ID: "orgmem_2", Data: []byte(`{"id":"orgmem_2"}`), CreatedAt: created, UpdatedAt: updated}
	for kind, full := range map[store.Kind]*store.Change{store.KindOrganization: org, store.KindMembership: member} {
		empty := bare
		if kind == store.KindMembership {
			empty = bareMember
		}
		for _, name := range FieldsOf(kind) {
			f := Field(name)
			if f == WholeOrganization || f == WholeMembership {
				if got, ok := Value(f, full).(json.RawMessage); !ok || !json.Valid(got) || !strings.Contains(string(got), `"id":"`+full.ID+`"`) {
					t.Errorf("%s %s: %s, want the whole object, compact", kind, f, got)
				}
				continue
			}
			want, ok := tests[kind][f]
			if !ok {
				t.Errorf("%s: no test for field %s", kind, f)
				continue
			}
			if got := Value(f, full); !reflect.DeepEqual(got, want.full) {
				t.Errorf("Value(%s, %s) = %#v, want %#v", f, kind, got, want.full)
			}
			if got := Value(f, empty); !reflect.DeepEqual(got, want.bare) {
				t.Errorf("Value(%s, bare %s) = %#v, want %#v", f, kind, got, want.bare)
			}
		}
	}
}
