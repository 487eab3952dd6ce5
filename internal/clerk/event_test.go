package clerk

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

func TestParseReferenceExamples(t *testing.T) {
	tests := []struct {
		file    string
		typ     string
		userID  string
		version int64
		deleted bool
		email   string // "" for none
		first   string
	}{
		{"user.created.docs.json", UserCreated, "user_29w83sxmDNGwOuEthce5gg56FcC", 1654012591835, false, "example@example.org", "Example"},
		// Its primary_email_address_id matches no entry: no email, not [0].
		{"user.created.openapi.json", UserCreated, "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S", 1716883200000, false, "", "John"},
		{"user.updated.openapi.json", UserUpdated, "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S", 1716883500000, false, "", "John"},
		// The envelope timestamp is in seconds here.
		{"user.deleted.openapi.json", UserDeleted, "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S", 1716883200000, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			ev, c, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tt.typ || c.ID != tt.userID || c.Version != tt.version || c.Deleted != tt.deleted {
				t.Fatalf("got %s %+v", ev.Type, c)
			}
			if got := deref(c.Email); got != tt.email {
				t.Fatalf("email %q, want %q", got, tt.email)
			}
			if got := deref(c.FirstName); got != tt.first {
				t.Fatalf("first name %q, want %q", got, tt.first)
			}
			if !tt.deleted && !c.UpdatedAt.Equal(time.UnixMilli(tt.version)) {
				t.Fatalf("updatedAt %v", c.UpdatedAt)
			}
		})
	}
}

func TestPrimaryEmailIsNotTheFirst(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "user.object.full.json"))
	if err != nil {
		t.Fatal(err)
	}
	event := []byte(`{"object":"event","type":"user.updated","timestamp":1611948436,"data":` + string(body) + `}`)
	_, c, err := Parse(event)
	if err != nil {
		t.Fatal(err)
	}
	if deref(c.Email) != "john.doe@clerk.test" || c.Version != 1611948436000 {
		t.Fatalf("got %+v", c)
	}
	two := []byte(`{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,
		"primary_email_address_id":"idn_b",
		"email_addresses":[{"id":"idn_a","email_address":"old@example.com"},{"id":"idn_b","email_address":"new@example.com"}]}}`)
	if _, c, err := Parse(two); err != nil || deref(c.Email) != "new@example.com" {
		t.Fatalf("got %v %v", c, err)
	}
	phoneOnly := []byte(`{"type":"user.created","data":{"id":"user_2","updated_at":1700000000000,
		"primary_email_address_id":null,"email_addresses":[],"username":"  ","phone_numbers":[{"id":"idn_p","phone_number":"+15555550100"}]}}`)
	if _, c, err := Parse(phoneOnly); err != nil || c.Email != nil || c.Username != nil {
		t.Fatalf("got %+v %v", c, err)
	}
}

func TestParseOtherTypes(t *testing.T) {
	ev, c, err := Parse([]byte(`{"type":"session.created","object":"event","data":{"id":"sess_1"},"unknown":1}`))
	if err != nil || c != nil || ev.Type != "session.created" {
		t.Fatalf("got %+v %+v %v", ev, c, err)
	}
}

func TestParseMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"not json":                 `not json`,
		"array":                    `[1,2]`,
		"null":                     `null`,
		"no type":                  `{"data":{"id":"user_1"}}`,
		"no data":                  `{"type":"user.created"}`,
		"data not an object":       `{"type":"user.updated","data":"user_1"}`,
		"no data.id":               `{"type":"user.created","data":{"updated_at":1700000000000}}`,
		"no updated_at":            `{"type":"user.updated","data":{"id":"user_1"}}`,
		"deleted without data.id":  `{"type":"user.deleted","timestamp":1700000000,"data":{"object":"user","deleted":true}}`,
		"wrong field type":         `{"type":"user.created","data":{"id":"user_1","updated_at":"yesterday"}}`,
		"deleted, wrong data type": `{"type":"user.deleted","data":{"id":7}}`,
		// What one database stores and another refuses is refused by both.
		"NUL in a name":              `{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,"first_name":"a\u0000b"}}`,
		"NUL in the id":              `{"type":"user.created","data":{"id":"user_\u0000","updated_at":1700000000000}}`,
		"NUL in a metadata key":      `{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,"public_metadata":{"k\u0000":1}}}`,
		"NUL in the type":            `{"type":"session.created\u0000","data":{"id":"sess_1"}}`,
		"lone high surrogate":        `{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,"last_name":"\ud83dx"}}`,
		"high surrogate, no low":     `{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,"last_name":"\ud83d\u0041"}}`,
		"lone low surrogate":         `{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,"last_name":"\ude00"}}`,
		"invalid UTF-8":              "{\"type\":\"user.created\",\"data\":{\"id\":\"user_1\",\"updated_at\":1700000000000,\"username\":\"\xff\"}}",
		"updated_at after 9999":      `{"type":"user.updated","data":{"id":"user_1","updated_at":253402300800000}}`,
		"created_at after 9999":      `{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,"created_at":99999999999999999}}`,
		"last_sign_in_at after 9999": `{"type":"user.updated","data":{"id":"user_1","updated_at":1700000000000,"last_sign_in_at":253402300800000}}`,
		"deleted after 9999":         `{"type":"user.deleted","timestamp":253402300800000,"data":{"id":"user_1","deleted":true}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Parse([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

// Text that every store keeps alike passes: a surrogate pair, an escaped
// backslash before "u0000", and the last millisecond of year 9999.
func TestParseStorableEdges(t *testing.T) {
	body := `{"type":"user.updated","data":{"id":"user_1","updated_at":253402300799999,` +
		`"first_name":"\ud83d\ude00","last_name":"back\\u0000slash","username":"\u00e9"}}`
	_, c, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if deref(c.FirstName) != "😀" || deref(c.LastName) != `back\u0000slash` || deref(c.Username) != "é" || c.Version != maxMillis {
		t.Fatalf("got %+v", c)
	}
}

// The digest tells two bodies of one version apart, and is the same for
// the same data.
func TestParseDigest(t *testing.T) {
	digest := func(name string) int64 {
		_, c, err := Parse([]byte(`{"type":"user.updated","data":{"id":"user_1","updated_at":1700000000000,"first_name":"` + name + `"}}`))
		if err != nil {
			t.Fatal(err)
		}
		return c.Digest
	}
	if a, b := digest("Ada"), digest("Grace"); a == b || a != digest("Ada") || a < 0 || b < 0 {
		t.Fatalf("digests %d, %d", a, b)
	}
}

func TestMillis(t *testing.T) {
	for in, want := range map[int64]int64{0: 0, 1716883200: 1716883200000, 1716883200123: 1716883200123} {
		if got := Millis(in); got != want {
			t.Errorf("Millis(%d) = %d, want %d", in, got, want)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// FuzzParse: Parse never panics, and what it accepts holds only text
// that every store keeps alike.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"user.created.docs.json", "user.updated.openapi.json", "user.deleted.openapi.json",
		"organization.created.openapi.json", "organization.deleted.openapi.json", "organizationMembership.updated.openapi.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"user.created","data":{"id":"user_1","updated_at":1700000000000,"first_name":"\ud83d\ude00"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, c, err := Parse(body)
		if err != nil || c == nil {
			return
		}
		for _, s := range []*string{&c.ID, c.FirstName, c.LastName, c.Username, c.ImageURL, c.Email, c.Phone, c.ExternalID} {
			if s != nil && (!utf8.ValidString(*s) || strings.ContainsRune(*s, 0)) {
				t.Fatalf("accepted %q in %s", *s, body)
			}
		}
		if c.Version > maxMillis {
			t.Fatalf("accepted version %d", c.Version)
		}
		for _, p := range c.Parents {
			if p.ID == "" || !utf8.ValidString(p.ID) || strings.ContainsRune(p.ID, 0) {
				t.Fatalf("accepted parent %+v in %s", p, body)
			}
		}
	})
}

// Organization and membership events: their ids, parents and versions,
// from Clerk's own examples, and what is malformed.
func TestParseOrganizations(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name+".openapi.json"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	org, user := store.Ref{Kind: store.KindOrganization, ID: "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S"}, store.Ref{Kind: store.KindUser, ID: "user_2h8op3Isl1QR7tKu5FGNfaLKEoU"}
	for _, tt := range []struct {
		name    string
		kind    store.Kind
		deleted bool
		version int64
		parents []store.Ref
	}{
		{"organization.created", store.KindOrganization, false, 1716883200000, nil},
		{"organization.deleted", store.KindOrganization, true, 1716883200000, nil}, // timestamp in seconds
		{"organizationMembership.created", store.KindMembership, false, 1716883200000, []store.Ref{org, user}},
		{"organizationMembership.deleted", store.KindMembership, true, 1716883200000, []store.Ref{org, user}},
	} {
		_, c, err := Parse(read(tt.name))
		if err != nil || c == nil || c.Kind != tt.kind || c.Deleted != tt.deleted || c.Version != tt.version || !slices.Equal(c.Parents, tt.parents) {
			t.Errorf("%s: %+v, %v", tt.name, c, err)
			continue
		}
		if want := map[store.Kind]string{store.KindMembership: user.ID}[tt.kind]; c.UserID() != want {
			t.Errorf("%s: the user whose data it holds is %q, want %q", tt.name, c.UserID(), want)
		}
	}
	for name, body := range map[string]string{
		"membership without its organization": `{"type":"organizationMembership.created","data":{"id":"orgmem_1","updated_at":1,"public_user_data":{"user_id":"user_1"}}}`,
		"membership without its user":         `{"type":"organizationMembership.updated","data":{"id":"orgmem_1","updated_at":1,"organization":{"id":"org_1"}}}`,
		"organization without updated_at":     `{"type":"organization.updated","data":{"id":"org_1"}}`,
		"organization without an id":          `{"type":"organization.deleted","timestamp":1,"data":{"slug":"x"}}`,
		"a name that is not text":             `{"type":"organization.created","data":{"id":"org_1","updated_at":1,"name":5}}`,
	} {
		if _, c, err := Parse([]byte(body)); !errors.Is(err, ErrMalformed) || c != nil {
			t.Errorf("%s: %+v, %v; want malformed", name, c, err)
		}
	}
}
