package scenario

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	start = time.Date(2025, 11, 27, 9, 0, 0, 0, time.UTC)
	now   = time.Date(2025, 11, 27, 12, 0, 0, 0, time.UTC)
)

// testOptions are repeatable options: a seeded generator, a fixed clock,
// and an environment with two variables.
func testOptions(seed uint64) Options {
	env := map[string]string{"PLAN": "pro", "EMPTY": "", "THREE": "3"}
	return Options{
		Gen: fake.New(seed, start),
		Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now: func() time.Time { return now },
	}
}

func mustParse(t *testing.T, data string) *Scenario {
	t.Helper()
	s, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// event returns the body of the first delivery of step in p.
func event(t *testing.T, p Plan, step string) []byte {
	t.Helper()
	for _, e := range p.Events {
		if e.Step == step {
			return e.Event.Body
		}
	}
	t.Fatalf("no delivery of step %q", step)
	return nil
}

func TestReferences(t *testing.T) {
	tests := []struct {
		name  string
		value string // a set value, JSON
		path  string // where to look in the updated event, under data
		want  string // the raw JSON expected there; "" to use match
		match string // a regexp the string there must match
	}{
		{"literal", `"Grace"`, "first_name", `"Grace"`, ""},
		{"literal that looks like JSON stays a string", `"123"`, "username", `"123"`, ""},
		{"null literal", `null`, "username", `null`, ""},
		{"object literal", `{"plan":"free","seats":3}`, "public_metadata", `{"plan":"free","seats":3}`, ""},
		{"env set", `"${.env:PLAN}"`, "public_metadata.plan", `"pro"`, ""},
		{"env set wins over default", `"${.env:PLAN|free}"`, "public_metadata.plan", `"pro"`, ""},
		{"env set but empty", `"${.env:EMPTY|free}"`, "public_metadata.plan", `""`, ""},
		{"env default", `"${.env:MISSING|free}"`, "public_metadata.plan", `"free"`, ""},
		{"env default with colon", `"${.env:MISSING|https://example.com/a}"`, "image_url", `"https://example.com/a"`, ""},
		{"env number is a string", `"${.env:THREE}"`, "public_metadata.seats", `"3"`, ""},
		{"now is a number", `"${.now}"`, "public_metadata.seen", fmt.Sprint(now.UnixMilli()), ""},
		{"now in text", `"at ${.now}"`, "public_metadata.seen", fmt.Sprintf(`"at %d"`, now.UnixMilli()), ""},
		{"fresh id", `"${.id:idn}"`, "public_metadata.ref", "", `^idn_2[0-9A-Za-z]{26}$`},
		{"step string", `"${created:data.id}"`, "external_id", "", `^user_2[0-9A-Za-z]{26}$`},
		{"step nested string", `"${created:data.image_url}"`, "public_metadata.was", "", `^https://img\.clerk\.com/`},
		{"step number keeps its type", `"${created:data.created_at}"`, "public_metadata.since", "", `^1764[0-9]{9}$`},
		{"step bool keeps its type", `"${created:data.banned}"`, "public_metadata.banned", `false`, ""},
		{"step object keeps its type", `"${created:event_attributes}"`, "public_metadata.x", "", `^\{\s*"http_request":\s*\{`},
		{"step value in text", `"id=${created:type}"`, "public_metadata.x", `"id=user.created"`, ""},
		{"step path default", `"${created:data.nope|fallback}"`, "public_metadata.x", `"fallback"`, ""},
		{"two references", `"${.env:PLAN}-${created:object}"`, "public_metadata.x", `"pro-event"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, `{"name":"t","steps":[`+
				`{"name":"created","event":"user.created"},`+
				`{"name":"updated","event":"user.updated","user":"${created:data.id}","set":{"`+tt.path+`":`+tt.value+`}}]}`)
			p, err := s.Plan(context.Background(), testOptions(1))
			if err != nil {
				t.Fatal(err)
			}
			got := gjson.GetBytes(event(t, p, "updated"), "data."+tt.path)
			switch {
			case tt.want != "" && got.Raw != tt.want:
				t.Errorf("data.%s = %s, want %s", tt.path, got.Raw, tt.want)
			case tt.match != "" && !regexp.MustCompile(tt.match).MatchString(got.String()):
				t.Errorf("data.%s = %s, want a match of %s", tt.path, got.Raw, tt.match)
			case !got.Exists():
				t.Errorf("data.%s not set", tt.path)
			}
		})
	}
}

func TestReferenceSeesTheStepsSetFields(t *testing.T) {
	s := mustParse(t, `{"name":"t","steps":[
		{"name":"a","event":"user.created","set":{"first_name":"Ada"}},
		{"name":"b","event":"session.created","user":"${a:data.id}","set":{"status":"${a:data.first_name}"}}]}`)
	p, err := s.Plan(context.Background(), testOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := gjson.GetBytes(event(t, p, "b"), "data.status").String(); got != "Ada" {
		t.Fatalf("status = %q, want Ada", got)
	}
	if got, want := gjson.GetBytes(event(t, p, "b"), "data.user_id").String(), p.Users[0].ID; got != want {
		t.Fatalf("session.created user_id = %q, want %q", got, want)
	}
}

// Steps for the organization cases to build on.
const (
	acme = `{"name":"acme","event":"organization.created"}`
	join = `{"name":"joined","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}"}`
)

// TestPlanErrors has one case per check that only Plan can make.
func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string
	}{
		{"path with nothing", steps(created, `{"name":"u","event":"user.updated","user":"${created:data.nope}"}`),
			[]string{`step "u": user`, "${created:data.nope}", `nothing at "data.nope"`, `step "created"`}},
		{"env unset without default", steps(`{"name":"a","event":"user.created","set":{"last_name":"${.env:MISSING}"}}`),
			[]string{`step "a": set "last_name"`, "${.env:MISSING}", "MISSING is not set"}},
		{"not a user id", steps(created, `{"name":"u","event":"user.updated","user":"${created:data.first_name|x}"}`),
			[]string{`step "u": user`, "not a user id"}},
		{"count from env not a number", steps(`{"name":"b","event":"user.created","count":"${.env:PLAN}"}`),
			[]string{`step "b": count`, `"pro"`}},
		{"count from env too big", steps(`{"name":"b","event":"user.created","count":"${.env:MISSING|20000}"}`),
			[]string{`step "b": count`, "out of range"}},
		{"reference past a count from env", steps(`{"name":"b","event":"user.created","count":"${.env:THREE}"}`, `{"name":"u","event":"user.updated","user":"${b#4:data.id}"}`),
			[]string{`step "u": user`, "${b#4:data.id}", "happens 3 times"}},
		{"send past a count from env", `{"name":"t","steps":[{"name":"b","event":"user.created","count":"${.env:THREE}"}],"send":["b#4"]}`,
			[]string{`send "b#4"`, "happens 3 times"}},
		{"not a user id", steps(`{"name":"u","event":"user.updated","user":"org_2pQmE5n2Rb8Wc1Yt4Kd7Hs0Lx3V"}`),
			[]string{`step "u": user`, `is not a user id`}},
		{"empty user id set", steps(`{"name":"a","event":"user.created","set":{"id":"user_"}}`),
			[]string{`step "a": set: data.id`, `"user_" is not a user id`}},
		{"event about a deleted user", steps(created, `{"name":"d","event":"user.deleted","user":"${created:data.id}"}`, `{"name":"u","event":"user.updated","user":"${created:data.id}"}`),
			[]string{`step "u": user`, `deleted by step "d"`}},
		{"updated_at backwards", steps(created, `{"name":"u","event":"user.updated","user":"${created:data.id}","set":{"updated_at":1}}`),
			[]string{`step "u": set`, "not after", `step "created"`}},
		{"no image", steps(`{"name":"a","event":"user.created","set":{"image_url":null}}`),
			[]string{`step "a": set`, "image_url"}},
		{"id changed on update", steps(created, `{"name":"u","event":"user.updated","user":"${created:data.id}","set":{"id":"user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C"}}`),
			[]string{`step "u": set`, `"user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C"`, "choose the user"}},
		{"id removed", steps(`{"name":"a","event":"user.created","set":{"id":""}}`),
			[]string{`step "a": set`, "no data.id"}},
		{"created id taken", steps(`{"name":"s","event":"session.created","user":"user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C"}`, `{"name":"a","event":"user.created","set":{"id":"user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C"}}`),
			[]string{`step "a": set`, "names user user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C already"}},
		{"not an organization id", steps(created, `{"name":"o","event":"organization.updated","org":"${created:data.id}"}`),
			[]string{`step "o": org`, "is not an organization id (org_…)"}},
		{"not a membership id", steps(`{"name":"m","event":"organizationMembership.updated","membership":"org_2pQmE5n2Rb8Wc1Yt4Kd7Hs0Lx3V"}`),
			[]string{`step "m": membership`, "is not a membership id (orgmem_…)"}},
		{"membership no step made", steps(`{"name":"m","event":"organizationMembership.deleted","membership":"orgmem_2elsewhereElsewhere"}`),
			[]string{`step "m": membership`, "no step made orgmem_2elsewhereElsewhere", "organizationMembership.created"}},
		{"event about a deleted organization", steps(acme, `{"name":"d","event":"organization.deleted","org":"${acme:data.id}"}`, `{"name":"u","event":"organization.updated","org":"${acme:data.id}"}`),
			[]string{`step "u": org`, `organization org_`, `deleted by step "d"`}},
		{"join of a deleted organization", steps(created, acme, `{"name":"d","event":"organization.deleted","org":"${acme:data.id}"}`, join),
			[]string{`step "joined": org`, `deleted by step "d"`}},
		{"join of a deleted user", steps(created, acme, `{"name":"d","event":"user.deleted","user":"${created:data.id}"}`, join),
			[]string{`step "joined": user`, `deleted by step "d"`}},
		{"organization created by a deleted user", steps(created, `{"name":"d","event":"user.deleted","user":"${created:data.id}"}`, `{"name":"o","event":"organization.created","user":"${created:data.id}"}`),
			[]string{`step "o": user`, `deleted by step "d"`}},
		{"membership update after its organization's deletion", steps(created, acme, join, `{"name":"d","event":"organization.deleted","org":"${acme:data.id}"}`, `{"name":"u","event":"organizationMembership.updated","membership":"${joined:data.id}"}`),
			[]string{`step "u": membership`, "organization org_", `deleted by step "d"`}},
		{"membership update after its user's deletion", steps(created, acme, join, `{"name":"d","event":"user.deleted","user":"${created:data.id}"}`, `{"name":"u","event":"organizationMembership.updated","membership":"${joined:data.id}"}`),
			[]string{`step "u": membership`, "user user_", `deleted by step "d"`}},
		{"membership deleted twice", steps(created, acme, join, `{"name":"d","event":"organizationMembership.deleted","membership":"${joined:data.id}"}`, `{"name":"e","event":"organizationMembership.deleted","membership":"${joined:data.id}"}`),
			[]string{`step "e": membership`, "membership orgmem_", `deleted by step "d"`}},
		{"organization id taken", steps(`{"name":"a","event":"organization.created","set":{"id":"org_2chosen"}}`, `{"name":"b","event":"organization.created","set":{"id":"org_2chosen"}}`),
			[]string{`step "b": set`, "names organization org_2chosen already"}},
		{"membership id taken", steps(created, acme, `{"name":"a","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}","set":{"id":"orgmem_2chosen"}}`, `{"name":"b","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}","set":{"id":"orgmem_2chosen"}}`),
			[]string{`step "b": set`, "names membership orgmem_2chosen already"}},
		{"organization name null", steps(`{"name":"a","event":"organization.created","set":{"name":null}}`),
			[]string{`step "a": set`, "data.name must stay a string", "null"}},
		{"organization metadata", steps(`{"name":"a","event":"organization.created","set":{"public_metadata.plan":"pro"}}`),
			[]string{`step "a": set`, "data.public_metadata must stay {}"}},
		{"organization id changed on update", steps(acme, `{"name":"u","event":"organization.updated","org":"${acme:data.id}","set":{"id":"org_2other"}}`),
			[]string{`step "u": set`, `"org_2other"`, `choose the organization with "org"`}},
		{"organization id not one", steps(`{"name":"a","event":"organization.created","set":{"id":"user_2x"}}`),
			[]string{`step "a": set: data.id`, "is not an organization id"}},
		{"custom role", steps(created, acme, `{"name":"joined","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}","set":{"role":"org:billing"}}`),
			[]string{`step "joined": set`, `data.role must be "org:admin" or "org:member"`}},
		{"membership moved to another organization", steps(created, acme, `{"name":"joined","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}","set":{"organization.id":"org_2other"}}`),
			[]string{`step "joined": set`, `data.organization.id "org_2other" is not the step's organization`}},
		{"membership of another user", steps(created, acme, `{"name":"joined","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}","set":{"public_user_data.user_id":"user_2other"}}`),
			[]string{`step "joined": set`, `"user_2other" is not the step's user`}},
		{"membership updated_at backwards", steps(created, acme, join, `{"name":"u","event":"organizationMembership.updated","membership":"${joined:data.id}","set":{"updated_at":1}}`),
			[]string{`step "u": set`, "not after", `step "joined"`}},
		{"count instance named", steps(`{"name":"b","event":"user.created","count":2}`, `{"name":"u","event":"user.updated","user":"${b#2:data.nope}"}`),
			[]string{`step "u": user`, `in the event of step "b#2"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mustParse(t, tt.json).Plan(context.Background(), testOptions(1))
			checkError(t, err, ErrInvalid, tt.want)
		})
	}
}

func TestPlanOptionErrors(t *testing.T) {
	s, err := Load("lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no generator", func(o *Options) { o.Gen = nil }, "Gen is required"},
		{"negative duplicate", func(o *Options) { o.Duplicate = -1 }, "negative"},
		{"shuffle without rand", func(o *Options) { o.Shuffle = true }, "Rand is required"},
		{"duplicate without rand", func(o *Options) { o.Duplicate = 1 }, "Rand is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(1)
			tt.edit(&opts)
			if _, err := s.Plan(context.Background(), opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSendRepeatsShareKeys(t *testing.T) {
	s := mustParse(t, `{"name":"t","steps":[
		{"name":"a","event":"user.created"},
		{"name":"b","event":"user.created","count":3},
		{"name":"c","event":"user.updated","user":"${a:data.id}"}],
		"send":["c","a","b","a","b#2","c"]}`)
	p, err := s.Plan(context.Background(), testOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Events {
		got = append(got, fmt.Sprintf("%s=%d", e.Step, e.Key))
	}
	want := []string{"c=4", "a=0", "b#1=1", "b#2=2", "b#3=3", "a=0", "b#2=2", "c=4"}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	byKey := map[int]fake.Event{}
	for _, e := range p.Events {
		if prev, ok := byKey[e.Key]; ok && string(prev.Body) != string(e.Event.Body) {
			t.Fatalf("key %d has two bodies", e.Key)
		}
		byKey[e.Key] = e.Event
	}
}

func TestShuffleAndDuplicateKeepTheDeliveries(t *testing.T) {
	s, err := Load("duplicates")
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Plan(context.Background(), testOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		shuffle bool
		dup     int
	}{{false, 0}, {true, 0}, {false, 5}, {true, 5}, {true, 40}} {
		t.Run(fmt.Sprintf("shuffle=%v,duplicate=%d", tt.shuffle, tt.dup), func(t *testing.T) {
			opts := testOptions(1)
			opts.Rand = rand.New(rand.NewPCG(7, uint64(tt.dup)))
			opts.Shuffle, opts.Duplicate = tt.shuffle, tt.dup
			p, err := s.Plan(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Events) != len(base.Events)+tt.dup {
				t.Fatalf("%d deliveries, want %d", len(p.Events), len(base.Events)+tt.dup)
			}
			count := map[int]int{}
			for _, e := range p.Events {
				count[e.Key]++
			}
			extra := 0
			for _, e := range base.Events {
				count[e.Key]--
			}
			for key, n := range count {
				if n < 0 {
					t.Errorf("key %d lost %d deliveries", key, -n)
				}
				extra += n
			}
			if extra != tt.dup {
				t.Errorf("%d extra deliveries, want %d", extra, tt.dup)
			}
			if tt.shuffle {
				return
			}
			if !isSubsequence(keys(base.Events), keys(p.Events)) {
				t.Errorf("order %v does not keep the scenario's order %v", keys(p.Events), keys(base.Events))
			}
			if got, want := firsts(p.Events), firsts(base.Events); !slices.Equal(got, want) {
				t.Errorf("a copy comes before its original: first deliveries %v, want %v", got, want)
			}
		})
	}
}

// isSubsequence reports whether sub can be had by dropping items of seq.
func isSubsequence(sub, seq []int) bool {
	i := 0
	for _, x := range seq {
		if i < len(sub) && sub[i] == x {
			i++
		}
	}
	return i == len(sub)
}

// firsts lists the keys in the order of their first delivery.
func firsts(events []Planned) []int {
	var out []int
	for _, e := range events {
		if !slices.Contains(out, e.Key) {
			out = append(out, e.Key)
		}
	}
	return out
}

func keys(events []Planned) []int {
	var out []int
	for _, e := range events {
		out = append(out, e.Key)
	}
	return out
}

// TestExpectedRows applies every built-in's deliveries, shuffled and
// duplicated, under the sync's rules (one apply per svix-id, the highest
// updated_at wins, a delete is final) and checks the rows against
// Plan.Users.
func TestExpectedRows(t *testing.T) {
	for _, name := range Builtins() {
		s, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("%s/seed=%d", name, seed), func(t *testing.T) {
				opts := testOptions(seed)
				if seed > 0 {
					opts.Rand = rand.New(rand.NewPCG(seed, 1))
					opts.Shuffle, opts.Duplicate = seed%2 == 0, int(seed%4)
				}
				p, err := s.Plan(context.Background(), opts)
				if err != nil {
					t.Fatal(err)
				}
				checkRows(t, p)
			})
		}
	}
}

func TestExpectedRowsFollowSet(t *testing.T) {
	s := mustParse(t, `{"name":"t","steps":[
		{"name":"a","event":"user.created","set":{"first_name":"Ada","username":"  ","email_addresses":[{"id":"idn_1","email_address":"ada@example.com"}],"primary_email_address_id":"idn_1"}},
		{"name":"b","event":"user.created","set":{"id":"user_2chosenChosenChosen","updated_at":"${.now}"}}]}`)
	p, err := s.Plan(context.Background(), testOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, p)
	a, b := p.Users[0].Row(), p.Users[1].Row()
	if deref(a.FirstName) != `"Ada"` || a.Username != nil || deref(a.Email) != `"ada@example.com"` {
		t.Errorf("row a = %s", rowString(*a))
	}
	if b.ID != "user_2chosenChosenChosen" || !b.UpdatedAt.Equal(now) {
		t.Errorf("row b = %s", rowString(*b))
	}
	if p.Events[1].Event.UserID != "user_2chosenChosenChosen" {
		t.Errorf("event b is about %q", p.Events[1].Event.UserID)
	}
}

func TestExpectedRowsOfPartialSend(t *testing.T) {
	tests := []struct {
		name  string
		send  string
		users int
		step  string // the step whose state the row must have; "" for none
	}{
		{"update never sent", `["created"]`, 1, "created"},
		{"delete never sent", `["updated","created"]`, 1, "updated"},
		{"only the delete", `["deleted"]`, 1, ""},
		{"only another event", `["session"]`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, `{"name":"t","steps":[
				{"name":"created","event":"user.created"},
				{"name":"updated","event":"user.updated","user":"${created:data.id}"},
				{"name":"deleted","event":"user.deleted","user":"${created:data.id}"},
				{"name":"session","event":"session.created","user":"user_2elsewhereElsewhere"}],
				"send":`+tt.send+`}`)
			p, err := s.Plan(context.Background(), testOptions(3))
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, p)
			if len(p.Users) != tt.users {
				t.Fatalf("%d users, want %d", len(p.Users), tt.users)
			}
			if tt.step != "" {
				want := gjson.GetBytes(event(t, p, tt.step), "data.updated_at").Int()
				if got := p.Users[0].Row().UpdatedAt.UnixMilli(); got != want {
					t.Errorf("row updated at %d, want %d (step %s)", got, want, tt.step)
				}
			}
		})
	}
}

func TestUserNotCreatedInTheScenario(t *testing.T) {
	const id = "user_2existingExistingUser"
	s := mustParse(t, `{"name":"t","steps":[
		{"name":"u","event":"user.updated","user":"`+id+`"},
		{"name":"v","event":"user.updated","user":"${u:data.id}"}]}`)
	// Enough seeds for the invented user to be phone-only or username-only.
	for seed := range uint64(40) {
		p, err := s.Plan(context.Background(), testOptions(seed))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Users) != 1 || p.Users[0].ID != id {
			t.Fatalf("seed %d: users %+v", seed, p.Users)
		}
		checkRows(t, p)
	}
}

// checkRows applies p's deliveries the way the sync does, for every
// kind, and compares the resulting rows with Plan.Rows. It models the
// store's rules on their own, not the planner's: one apply per svix-id;
// per entity, the highest version wins and a deletion tombstones it for
// good; a change whose parent is tombstoned is stale; a deletion removes
// and tombstones the children that were applied under the entity.
func checkRows(t *testing.T, p Plan) {
	t.Helper()
	type state struct {
		version int64
		deleted bool
		row     *store.User
	}
	done := map[int]bool{} // the ledger, by svix-id
	states := map[store.Ref]*state{}
	get := func(r store.Ref) *state {
		if states[r] == nil {
			states[r] = &state{}
		}
		return states[r]
	}
	children := map[store.Ref][]store.Ref{}
	var remove func(store.Ref)
	remove = func(r store.Ref) {
		st := get(r)
		if st.deleted {
			return
		}
		st.deleted, st.row = true, nil
		for _, c := range children[r] {
			remove(c)
		}
	}
	for _, e := range p.Events {
		if done[e.Key] {
			continue
		}
		done[e.Key] = true
		_, c, err := clerk.Parse(e.Event.Body)
		if err != nil {
			t.Fatalf("step %s: %v", e.Step, err)
		}
		if c == nil {
			continue // recorded as ignored
		}
		if c.Deleted {
			remove(c.Ref())
			continue
		}
		st := get(c.Ref())
		stale := st.deleted || c.Version <= st.version
		for _, parent := range c.Parents {
			stale = stale || get(parent).deleted
		}
		if stale {
			continue
		}
		st.version, st.row = c.Version, modelRow(c)
		for _, parent := range c.Parents {
			children[parent] = append(children[parent], c.Ref())
		}
	}
	for _, kind := range store.Kinds {
		var got, want []string
		for ref, st := range states {
			if ref.Kind == kind && st.row != nil {
				got = append(got, rowString(*st.row))
			}
		}
		for _, r := range p.Rows(kind) {
			want = append(want, rowString(r))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s rows after delivery:\n%s\nexpected from the plan:\n%s", kind, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// modelRow is the row a change writes, in the fields rowString shows.
func modelRow(c *store.Change) *store.User {
	row := &store.User{ID: c.ID, ClerkID: c.ID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.Kind == store.KindUser {
		row.Email, row.FirstName, row.LastName, row.Username, row.ImageURL = c.Email, c.FirstName, c.LastName, c.Username, c.ImageURL
		return row
	}
	for _, f := range otherFields {
		if v := gjson.GetBytes(c.Data, f.path); v.Exists() {
			row.Set(f.field, v.String()) // where a row read from a table has it
		}
	}
	return row
}

// otherFields are the fields of organizations and memberships that
// rowString shows, with their paths in the entity's object.
var otherFields = []struct{ field, path string }{
	{"name", "name"}, {"slug", "slug"}, {"image_url", "image_url"}, {"created_by", "created_by"},
	{"organization_id", "organization.id"}, {"user_id", "public_user_data.user_id"}, {"role", "role"},
}

func rowString(u store.User) string {
	var other strings.Builder
	for _, f := range otherFields {
		if v, ok := u.Get(f.field); ok {
			fmt.Fprintf(&other, " %s=%q", f.field, v)
		}
	}
	return fmt.Sprintf("%s clerk=%s email=%s first=%s last=%s username=%s image=%s created=%d updated=%d%s",
		u.ID, u.ClerkID, deref(u.Email), deref(u.FirstName), deref(u.LastName), deref(u.Username), deref(u.ImageURL),
		u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli(), other.String())
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *s)
}

// TestGolden pins the deliveries of two plans with fixed seeds: a change
// in the engine or a built-in shows up as a diff (refresh with -update).
func TestGolden(t *testing.T) {
	tests := []struct {
		scenario string
		shuffle  bool
		dup      int
	}{
		{"out-of-order", false, 0},
		{"duplicates", true, 3},
		{"org-user-deleted", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := Load(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			opts := testOptions(42)
			opts.Rand = rand.New(rand.NewPCG(42, 42))
			opts.Shuffle, opts.Duplicate = tt.shuffle, tt.dup
			p, err := s.Plan(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "# %s shuffle=%v duplicate=%d\n", tt.scenario, tt.shuffle, tt.dup)
			for _, e := range p.Events {
				fmt.Fprintf(&b, "%-12s %-12s key=%d\n", e.Step, e.Event.Type, e.Key)
			}
			path := filepath.Join("testdata", tt.scenario+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("plan differs from %s:\n%s\nwant:\n%s", path, b.String(), want)
			}
		})
	}
}

// TestOrgBuiltins pins what each organization built-in must leave, in
// its own order: which rows of each table remain, by the steps that made
// them, and the memberships' roles.
func TestOrgBuiltins(t *testing.T) {
	tests := []struct {
		scenario string
		users    []string // the steps whose data.id must have a row
		orgs     []string
		members  map[string]string // step → the role its membership ends with
		orgName  string            // a step whose name the organization row holds
	}{
		{"org-lifecycle", []string{"owner", "ann", "ben"}, []string{"acme"},
			map[string]string{"owner-joined": "org:admin", "ben-joined": "org:admin"}, "renamed"},
		{"org-membership-first", []string{"ada"}, []string{"acme"}, map[string]string{"joined": "org:admin"}, "acme"},
		{"org-deleted-with-members", []string{"ann", "ben"}, []string{"globex"}, map[string]string{"ben-globex": "org:member"}, "globex"},
		{"org-user-deleted", []string{"eve"}, []string{"acme", "globex"}, map[string]string{"eve-globex": "org:admin"}, "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := Load(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Plan(context.Background(), testOptions(7))
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, p)
			ids := func(steps []string) []string {
				var out []string
				for _, st := range steps {
					out = append(out, gjson.GetBytes(event(t, p, st), "data.id").Str)
				}
				slices.Sort(out)
				return out
			}
			rows := func(kind store.Kind) map[string]store.User {
				out := map[string]store.User{}
				for _, r := range p.Rows(kind) {
					out[r.ClerkID] = r
				}
				return out
			}
			for kind, want := range map[store.Kind][]string{store.KindUser: tt.users, store.KindOrganization: tt.orgs} {
				if got := slices.Sorted(maps.Keys(rows(kind))); !slices.Equal(got, ids(want)) {
					t.Errorf("%s rows %v, want those of %v: %v", kind, got, want, ids(want))
				}
			}
			members := rows(store.KindMembership)
			if len(members) != len(tt.members) {
				t.Errorf("%d memberships, want %d: %v", len(members), len(tt.members), slices.Collect(maps.Keys(members)))
			}
			for step, role := range tt.members {
				id := gjson.GetBytes(event(t, p, step), "data.id").Str
				if got := members[id].Other["role"]; got != role {
					t.Errorf("membership of %s: role %q, want %q", step, got, role)
				}
			}
			name := gjson.GetBytes(event(t, p, tt.orgName), "data.name").Str
			if id := gjson.GetBytes(event(t, p, tt.orgName), "data.id").Str; rows(store.KindOrganization)[id].Other["name"] != name {
				t.Errorf("organization %s: row %+v, want the name %q of step %s", id, rows(store.KindOrganization)[id], name, tt.orgName)
			}
		})
	}
}

func TestExpectedOrgRowsFollowSet(t *testing.T) {
	s := mustParse(t, `{"name":"t","steps":[`+created+`,
		{"name":"acme","event":"organization.created","user":"${created:data.id}","set":{"id":"org_2chosen","name":"Acme","slug":"acme"}},
		{"name":"joined","event":"organizationMembership.created","org":"${acme:data.id}","user":"${created:data.id}","set":{"id":"orgmem_2chosen","role":"org:admin"}},
		{"name":"renamed","event":"organization.updated","org":"org_2chosen","set":{"name":"Acme Inc"}},
		{"name":"demoted","event":"organizationMembership.updated","membership":"orgmem_2chosen"}]}`)
	p, err := s.Plan(context.Background(), testOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, p)
	orgs, members := p.Rows(store.KindOrganization), p.Rows(store.KindMembership)
	if len(orgs) != 1 || orgs[0].ID != "org_2chosen" || orgs[0].Other["name"] != "Acme Inc" || orgs[0].Other["slug"] != "acme" ||
		orgs[0].Other["created_by"] != p.Users[0].ID {
		t.Errorf("organizations %+v", orgs)
	}
	// The update toggles the role that the join set.
	if len(members) != 1 || members[0].ID != "orgmem_2chosen" || members[0].Other["role"] != "org:member" {
		t.Errorf("memberships %+v", members)
	}
}

// An organization and a user that no step created exist in Clerk
// already: the engine invents the rest of them, and their rows are
// expected only once an event of theirs is delivered.
func TestOrgNotCreatedInTheScenario(t *testing.T) {
	const org, user = "org_2existingExisting", "user_2existingExisting"
	s := mustParse(t, `{"name":"t","steps":[
		{"name":"joined","event":"organizationMembership.created","org":"`+org+`","user":"`+user+`"},
		{"name":"renamed","event":"organization.updated","org":"${joined:data.organization.id}"}]}`)
	for seed := range uint64(10) {
		p, err := s.Plan(context.Background(), testOptions(seed))
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, p)
		if len(p.Users) != 0 || len(p.Orgs) != 1 || p.Orgs[0].ID != org || len(p.Members) != 1 || p.Members[0].User.ID != user {
			t.Fatalf("seed %d: users %+v, orgs %+v, members %+v", seed, p.Users, p.Orgs, p.Members)
		}
	}
}
