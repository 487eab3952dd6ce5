package scenario

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinsParse(t *testing.T) {
	names := Builtins()
	for _, want := range []string{
		"burst", "duplicates", "ignored", "lifecycle", "out-of-order",
		"org-lifecycle", "org-membership-first", "org-deleted-with-members", "org-user-deleted",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("built-in %q missing from %v", want, names)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("Builtins() not sorted: %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != name {
				t.Errorf("file %s.json holds scenario %q", name, s.Name)
			}
			if s.Description == "" {
				t.Error("no description: mockclerk fixtures shows it")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mine.json")
	if err := os.WriteFile(good, []byte(`{"name":"mine","steps":[{"name":"a","event":"user.created"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name":"bad","stepz":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arg     string
		wantErr error
		inMsg   []string
	}{
		{arg: "lifecycle"},
		{arg: good},
		{arg: "nope", wantErr: ErrUnknown, inMsg: []string{`"nope"`, "burst, duplicates, ignored, lifecycle, org-deleted-with-members", "out-of-order"}},
		{arg: filepath.Join(dir, "missing.json"), wantErr: ErrUnknown, inMsg: []string{"missing.json", "no such file"}},
		{arg: bad, wantErr: ErrInvalid, inMsg: []string{"bad.json", `unknown field "stepz"`}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.arg), func(t *testing.T) {
			s, err := Load(tt.arg)
			if tt.wantErr == nil {
				if err != nil || s == nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			checkError(t, err, tt.wantErr, tt.inMsg)
		})
	}
}

// TestParseErrors has one case per check that Parse makes; each message
// must name the place (step and field) and the culprit.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string
	}{
		{"not JSON", `{"name":`, []string{"unexpected EOF"}},
		{"unknown field", `{"name":"t","stepz":[]}`, []string{`unknown field "stepz"`}},
		{"unknown step field", steps(`{"name":"a","event":"user.created","sett":{}}`), []string{`unknown field "sett"`}},
		{"trailing data", steps(created) + `{}`, []string{"data after"}},
		{"no name", `{"steps":[` + created + `]}`, []string{"name: missing"}},
		{"bad name", `{"name":"a b","steps":[` + created + `]}`, []string{`"a b"`}},
		{"no steps", `{"name":"t","steps":[]}`, []string{"no steps"}},
		{"step without name", steps(`{"event":"user.created"}`), []string{"step 1: name: missing"}},
		{"step name with colon", steps(`{"name":"a:b","event":"user.created"}`), []string{"step 1", `"a:b"`}},
		{"duplicate step", steps(created, created), []string{`step "created": two steps`}},
		{"unknown event type", steps(`{"name":"a","event":"user.exploded"}`), []string{`step "a": event`, `"user.exploded"`, "user.created"}},
		{"user on created", steps(`{"name":"a","event":"user.created","user":"user_1"}`), []string{`step "a": user`, "always makes a new user"}},
		{"update without user", steps(created, `{"name":"u","event":"user.updated"}`), []string{`step "u": user`, "needs the user"}},
		{"org on a user event", steps(`{"name":"a","event":"user.created","org":"org_1"}`), []string{`step "a": org`, "only organization and membership events"}},
		{"org on organization.created", steps(`{"name":"a","event":"organization.created","org":"org_1"}`), []string{`step "a": org`, "always makes a new organization"}},
		{"organization.updated without org", steps(`{"name":"o","event":"organization.updated"}`), []string{`step "o": org`, "needs the organization it acts on", "${acme:data.id}"}},
		{"user on organization.deleted", steps(created, `{"name":"o","event":"organization.deleted","org":"org_1","user":"${created:data.id}"}`), []string{`step "o": user`, "about the organization alone"}},
		{"join without user", steps(`{"name":"m","event":"organizationMembership.created","org":"org_1"}`), []string{`step "m": user`, "needs the user who joins"}},
		{"join without org", steps(created, `{"name":"m","event":"organizationMembership.created","user":"${created:data.id}"}`), []string{`step "m": org`, "needs the organization joined"}},
		{"membership on a join", steps(created, `{"name":"m","event":"organizationMembership.created","org":"org_1","user":"${created:data.id}","membership":"orgmem_1"}`), []string{`step "m": membership`, "always makes a new membership"}},
		{"membership update without membership", steps(`{"name":"m","event":"organizationMembership.updated"}`), []string{`step "m": membership`, "needs the membership it acts on", "${joined:data.id}"}},
		{"org on a membership update", steps(`{"name":"m","event":"organizationMembership.deleted","membership":"orgmem_1","org":"org_1"}`), []string{`step "m": org`, "names its membership alone"}},
		{"membership on another event", steps(`{"name":"s","event":"session.created","membership":"orgmem_1"}`), []string{`step "s": membership`, "only organizationMembership.updated"}},
		{"org forward reference", steps(created, `{"name":"m","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}"}`, `{"name":"acme","event":"organization.created"}`), []string{`step "m": org`, "${acme:data.id}", `"acme" comes later`}},
		{"unknown step", steps(created, `{"name":"u","event":"user.updated","user":"${creatd:data.id}"}`), []string{`step "u": user`, "${creatd:data.id}", `no step named "creatd"`}},
		{"forward reference", steps(`{"name":"u","event":"session.created","user":"${created:data.id}"}`, created), []string{`step "u": user`, "${created:data.id}", `"created" comes later`}},
		{"self reference", steps(`{"name":"a","event":"user.created","set":{"last_name":"${a:data.first_name}"}}`), []string{`step "a": set "last_name"`, "${a:data.first_name}", "itself"}},
		{"repeated step without index", steps(`{"name":"b","event":"user.created","count":3}`, `{"name":"u","event":"user.updated","user":"${b:data.id}"}`), []string{`step "u": user`, "${b:data.id}", "b#1"}},
		{"index past count", steps(`{"name":"b","event":"user.created","count":3}`, `{"name":"u","event":"user.updated","user":"${b#4:data.id}"}`), []string{`step "u"`, "${b#4:data.id}", "no #4"}},
		{"index without count", steps(created, `{"name":"u","event":"user.updated","user":"${created#1:data.id}"}`), []string{`step "u"`, "has no count"}},
		{"bad index", steps(created, `{"name":"u","event":"user.updated","user":"${created#0:data.id}"}`), []string{`step "u"`, "created#0"}},
		{"unclosed reference", steps(created, `{"name":"u","event":"user.updated","user":"${created:data.id"}`), []string{`step "u": user`, "no closing }"}},
		{"unknown source", steps(`{"name":"a","event":"user.created","set":{"first_name":"${.envy:X}"}}`), []string{`step "a": set "first_name"`, `unknown source ".envy"`}},
		{"empty path", steps(created, `{"name":"u","event":"user.updated","user":"${created:}"}`), []string{`step "u"`, "non-empty argument"}},
		{"now with argument", steps(`{"name":"a","event":"user.created","set":{"x":"${.now:ms}"}}`), []string{`step "a": set "x"`, "no argument"}},
		{"id without prefix", steps(`{"name":"a","event":"user.created","set":{"x":"${.id}"}}`), []string{`step "a": set "x"`, "non-empty argument"}},
		{"reference inside object", steps(`{"name":"a","event":"user.created","set":{"public_metadata":{"plan":"${.env:PLAN}"}}}`), []string{`step "a": set "public_metadata"`, "string values only"}},
		{"empty set path", steps(`{"name":"a","event":"user.created","set":{"":"x"}}`), []string{`step "a": set ""`, "empty path"}},
		{"count zero", steps(`{"name":"a","event":"user.created","count":0}`), []string{`step "a": count`, "out of range"}},
		{"count too big", steps(`{"name":"a","event":"user.created","count":"100000"}`), []string{`step "a": count`, "out of range"}},
		{"count not a number", steps(`{"name":"a","event":"user.created","count":2.5}`), []string{`step "a": count`, "whole number"}},
		{"count string not a number", steps(`{"name":"a","event":"user.created","count":"many"}`), []string{`step "a": count`, `"many"`}},
		{"count from a step", steps(created, `{"name":"a","event":"user.created","count":"${created:data.id}"}`), []string{`step "a": count`, "only ${.env"}},
		{"empty send", `{"name":"t","steps":[` + created + `],"send":[]}`, []string{"send is empty"}},
		{"send unknown step", `{"name":"t","steps":[` + created + `],"send":["created","craeted"]}`, []string{`send "craeted"`, `no step named "craeted"`}},
		{"send index past count", `{"name":"t","steps":[{"name":"b","event":"user.created","count":2}],"send":["b#3"]}`, []string{`send "b#3"`, "no #3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			checkError(t, err, ErrInvalid, tt.want)
		})
	}
}

// created is a step for the error cases to refer to.
const created = `{"name":"created","event":"user.created"}`

// steps makes a scenario of these steps.
func steps(s ...string) string {
	return `{"name":"t","steps":[` + strings.Join(s, ",") + `]}`
}

// checkError checks that err wraps target and says every one of parts.
func checkError(t *testing.T, err, target error, parts []string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range Builtins() {
		data, err := builtinFiles.ReadFile("builtin/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"name":"t","steps":[{"name":"b","event":"user.created","count":"${.env:N|3}"},` +
		`{"name":"u","event":"user.updated","user":"${b#2:data.id}","set":{"first_name":"x${.id:idn}${.now}"}}],"send":["u","b","b#1"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// Whatever parses must plan or fail cleanly, never panic.
		if _, err := s.Plan(context.Background(), testOptions(1)); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Plan error does not wrap ErrInvalid: %v", err)
		}
	})
}
