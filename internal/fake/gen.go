// Package fake generates realistic Clerk webhook events and signs them the
// way Svix does. The tests, the benchmark and mockclerk all use it.
package fake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/fixtures"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Event is one generated webhook body.
type Event struct {
	Type   string
	UserID string
	Body   []byte
}

// User is the generator's picture of one Clerk user; each event it emits
// moves the picture forward.
type User struct {
	ID        string
	FirstName *string
	LastName  *string
	Username  *string
	Emails    []Email // in Clerk's order, which puts the primary anywhere
	PrimaryID *string // primary_email_address_id
	Phone     *string
	PhoneID   string
	ImageURL  string
	CreatedAt int64 // Unix ms
	UpdatedAt int64 // Unix ms
	Deleted   bool
	DeletedAt int64 // the envelope timestamp of user.deleted, in Unix ms
	// Updates counts the user's updates. The fields below follow from it,
	// without drawing on the generator's randomness, so that adding them
	// left every earlier seed's users as they were.
	Updates      int
	ExternalID   *string
	LastSignInAt int64 // Unix ms; 0 before the first sign-in
	Banned       bool
	// Data is the data object of the last event emitted for the user; the
	// next event makes it again, so mockclerk's state file leaves it out.
	Data []byte `json:"-"`
}

// PublicMetadata is the user's public_metadata as JSON.
func (u *User) PublicMetadata() string {
	return fmt.Sprintf(`{"updates":%d,"plan":"free","tags":["beta"]}`, u.Updates)
}

// Clone copies u, so that later events about u do not change the copy.
func (u *User) Clone() *User {
	c := *u
	c.Emails = slices.Clone(u.Emails)
	if u.PrimaryID != nil {
		id := *u.PrimaryID
		c.PrimaryID = &id
	}
	return &c
}

// Email is one entry of email_addresses.
type Email struct {
	ID      string
	Address string
}

// Row is the users-table row that the user's events should leave behind,
// or nil when the user is deleted (hard-delete mode).
func (u *User) Row() *store.User {
	if u.Deleted {
		return nil
	}
	var email *string
	if u.PrimaryID != nil {
		for _, e := range u.Emails {
			if e.ID == *u.PrimaryID {
				email = &e.Address
				break
			}
		}
	}
	row := &store.User{
		ID: u.ID, ClerkID: u.ID, Email: email,
		FirstName: blank(u.FirstName), LastName: blank(u.LastName), Username: blank(u.Username), ImageURL: blank(&u.ImageURL),
		CreatedAt: time.UnixMilli(u.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(u.UpdatedAt).UTC(),
		Other: map[string]string{
			"public_metadata": canonicalJSON(u.PublicMetadata()), "private_metadata": "{}", "unsafe_metadata": "{}",
			"banned": strconv.FormatBool(u.Banned), "locked": "false",
		},
	}
	var names []string
	for _, p := range []*string{row.FirstName, row.LastName} {
		if p != nil {
			names = append(names, *p)
		}
	}
	for field, v := range map[string]*string{"phone": u.Phone, "external_id": u.ExternalID} {
		if v != nil {
			row.Other[field] = *v
		}
	}
	if len(names) > 0 {
		row.Other["full_name"] = strings.Join(names, " ")
	}
	if u.LastSignInAt > 0 {
		row.Other["last_sign_in_at"] = mapping.TimeText(time.UnixMilli(u.LastSignInAt))
	}
	if u.Data != nil {
		row.Other["user"] = canonicalJSON(string(u.Data))
	}
	return row
}

// canonicalJSON re-encodes JSON with sorted keys, as stores read it back.
func canonicalJSON(s string) string {
	c, _, err := mapping.Canonical(mapping.JSON, s)
	if err != nil {
		panic(err) // the generator writes this JSON itself
	}
	return c
}

// blank is nil for a missing or blank string, as the sync stores it.
func blank(s *string) *string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	return s
}

// Profile is the sign-up setting of the Clerk instance that the generator
// imitates: which identifiers its new users have.
type Profile string

// The profiles, each a kind of Clerk instance by what it asks for at
// sign-up.
const (
	// ProfileMixed: email optional. Most users have an email, some only a
	// phone number or only a username, so a table must take a missing email.
	ProfileMixed Profile = "mixed"
	// ProfileEmailRequired: every user has a primary email, at all times.
	ProfileEmailRequired Profile = "email-required"
	// ProfilePhoneOnly: users sign up with a phone number and have no email.
	ProfilePhoneOnly Profile = "phone-only"
)

// Profiles lists the profiles, the default first.
var Profiles = []Profile{ProfileMixed, ProfileEmailRequired, ProfilePhoneOnly}

// String implements pflag.Value; the zero Profile is ProfileMixed.
func (p *Profile) String() string {
	if *p == "" {
		return string(ProfileMixed)
	}
	return string(*p)
}

// Set implements pflag.Value: it accepts the name of a profile.
func (p *Profile) Set(s string) error {
	if !slices.Contains(Profiles, Profile(s)) {
		return fmt.Errorf("profile %q: want mixed, email-required or phone-only", s)
	}
	*p = Profile(s)
	return nil
}

// Type implements pflag.Value.
func (p *Profile) Type() string { return "profile" }

// maxEmails bounds a user's email addresses: an update that adds one
// removes the oldest, so that bodies stay the size of Clerk's however
// many updates a user has.
const maxEmails = 3

// Generator makes users and their events. The same seed gives the same
// events, as long as the clock stays behind the wall clock (a start in
// the past). It is not safe for concurrent use.
type Generator struct {
	f *gofakeit.Faker
	// clock is Unix ms. It moves forward by up to 2 s with every event but
	// never past the wall clock: a receiver would call a later real-time
	// event of the same user stale.
	clock int64
	// Profile says which identifiers new users have; "" is ProfileMixed.
	Profile Profile
	// EmailRequired, when set, makes the profile ProfileEmailRequired.
	EmailRequired bool
	// spans caches where splice's paths lie in each fixture.
	spans map[string]span
}

// New returns a Generator whose first event happens at start.
func New(seed uint64, start time.Time) *Generator {
	return &Generator{f: gofakeit.New(seed), clock: start.UnixMilli()}
}

func (g *Generator) profile() Profile {
	if g.EmailRequired {
		return ProfileEmailRequired
	}
	return Profile(g.Profile.String())
}

// Base62 is the alphabet of Clerk's ids after the prefix.
const Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ID returns a Clerk-style id: prefix, underscore, 27 base62 characters.
func (g *Generator) ID(prefix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + 28)
	b.WriteString(prefix)
	b.WriteByte('_')
	b.WriteByte('2') // Clerk's KSUID-style ids of today start with 2
	for range 26 {
		b.WriteByte(Base62[g.f.IntN(len(Base62))])
	}
	return b.String()
}

// tick advances the clock by 1 ms to 2 s, up to the wall clock, and
// returns it. A clock that starts in the future stays where it is.
func (g *Generator) tick() int64 {
	step := g.clock + int64(1+g.f.IntN(2000))
	g.clock = max(g.clock, min(step, time.Now().UnixMilli()))
	return g.clock
}

// tickFor is the time of u's next event: the clock, or 1 ms after u's
// last change when the clock has not passed it, so that each of u's events
// is newer than the one before. Only this runs ahead of the wall clock,
// by 1 ms per event of u within the same millisecond.
func (g *Generator) tickFor(u *User) int64 {
	return g.tickAfter(u.CreatedAt, u.UpdatedAt, u.DeletedAt)
}

// tickAfter is the clock, or 1 ms after the latest of an entity's times
// when the clock has not passed it.
func (g *Generator) tickAfter(created, updated, deleted int64) int64 {
	return max(g.tick(), created+1, updated+1, deleted+1)
}

// NewUser invents a user. Most have a name and one email; some have
// several emails with the primary not first, some only a phone number,
// some only a username.
func (g *Generator) NewUser() *User {
	now := g.tick()
	u := &User{ID: g.ID("user"), CreatedAt: now, UpdatedAt: now}
	u.ImageURL = "https://img.clerk.com/" + g.f.LetterN(40)
	first, last := g.f.FirstName(), g.f.LastName()
	n := g.f.IntN(100)
	profile := g.profile()
	if profile == ProfileEmailRequired && n < 20 {
		n += 20
	}
	switch {
	case profile == ProfilePhoneOnly:
		g.newPhone(u)
		if n >= 15 {
			u.FirstName, u.LastName = &first, &last
		}
	case n < 15: // phone only
		g.newPhone(u)
	case n < 20: // username only
		name := strings.ToLower(g.f.Username())
		u.Username = &name
	default:
		u.FirstName, u.LastName = &first, &last
		u.Emails = []Email{{ID: g.ID("idn"), Address: g.email(first, last)}}
		u.PrimaryID = &u.Emails[0].ID
		if n < 35 { // a second address, listed before the primary
			u.Emails = append([]Email{{ID: g.ID("idn"), Address: g.email(first, last)}}, u.Emails...)
		}
	}
	return u
}

// newPhone gives u a new primary phone number.
func (g *Generator) newPhone(u *User) {
	phone := "+1555" + g.f.DigitN(7)
	u.Phone, u.PhoneID = &phone, g.ID("idn")
}

// UserWithID invents the rest of a user known only by its id: one created
// elsewhere, that an update or delete is to act on.
func (g *Generator) UserWithID(id string) *User {
	u := g.NewUser()
	u.ID = id
	return u
}

func (g *Generator) email(first, last string) string {
	domains := []string{"example.com", "example.org", "mail.example.net", "work.example.io"}
	return strings.ToLower(fmt.Sprintf("%s.%s%d@%s", first, last, g.f.IntN(1000), domains[g.f.IntN(len(domains))]))
}

// Created returns the user.created event of u.
func (g *Generator) Created(u *User) Event {
	return g.userEvent(clerk.UserCreated, u, u.CreatedAt)
}

// Updated changes something about u, as a user editing their profile
// would, and returns the user.updated event.
func (g *Generator) Updated(u *User) Event {
	u.UpdatedAt = g.tickFor(u)
	u.Updates++
	u.LastSignInAt = u.UpdatedAt
	u.Banned = u.Updates%3 == 2
	if u.Updates == 2 {
		ext := "ext-" + strings.ToLower(u.ID[len(u.ID)-8:])
		u.ExternalID = &ext
	}
	switch g.f.IntN(4) {
	case 0:
		first := g.f.FirstName()
		u.FirstName = &first
	case 1:
		last := g.f.LastName()
		u.LastName = &last
	case 2:
		name := strings.ToLower(g.f.Username())
		u.Username = &name
	case 3: // a new primary email, added last; a phone-only user's new phone
		if g.profile() == ProfilePhoneOnly {
			g.newPhone(u)
			break
		}
		first, last := g.f.FirstName(), g.f.LastName()
		primary := Email{ID: g.ID("idn"), Address: g.email(first, last)}
		u.Emails = append(u.Emails, primary)
		if len(u.Emails) > maxEmails {
			u.Emails = slices.Delete(u.Emails, 0, len(u.Emails)-maxEmails)
		}
		u.PrimaryID = &primary.ID
	}
	return g.userEvent(clerk.UserUpdated, u, u.UpdatedAt)
}

// Deleted marks u deleted and returns the user.deleted event.
func (g *Generator) Deleted(u *User) Event {
	u.Deleted, u.DeletedAt = true, g.tickFor(u)
	body := g.fixture(clerk.UserDeleted)
	body = set(body, "data.id", u.ID)
	if g.f.IntN(5) == 0 {
		// Some of Clerk's payloads carry the envelope timestamp in seconds.
		u.DeletedAt -= u.DeletedAt % 1000
		body = set(body, "timestamp", u.DeletedAt/1000)
	} else {
		body = set(body, "timestamp", u.DeletedAt)
	}
	body = set(body, "instance_id", g.instance())
	return Event{Type: clerk.UserDeleted, UserID: u.ID, Body: body}
}

// Event returns an event of any type that has a fixture: user.created
// invents a new user and returns it (u is not used), user.updated and
// user.deleted act on u (which must not be nil), other types mention u
// when given.
func (g *Generator) Event(eventType string, u *User) (Event, *User, error) {
	switch eventType {
	case clerk.UserCreated:
		u = g.NewUser()
		return g.Created(u), u, nil
	case clerk.UserUpdated, clerk.UserDeleted:
		if u == nil {
			return Event{}, nil, fmt.Errorf("%s needs a user", eventType)
		}
		if eventType == clerk.UserUpdated {
			return g.Updated(u), u, nil
		}
		return g.Deleted(u), u, nil
	}
	if _, err := fixtures.Event(eventType); err != nil {
		return Event{}, nil, err
	}
	return g.Other(eventType, u), u, nil
}

// Lifecycle returns the events of a new user in the order Clerk emits
// them: created, then updates, then deleted if asked.
func (g *Generator) Lifecycle(updates int, deleted bool) (*User, []Event) {
	u := g.NewUser()
	evs := []Event{g.Created(u)}
	for range updates {
		evs = append(evs, g.Updated(u))
	}
	if deleted {
		evs = append(evs, g.Deleted(u))
	}
	return u, evs
}

// Other returns an event of a type the sync ignores, from its fixture
// when there is one (session.created, organization.created), with fresh
// ids and time; u, when not nil, is the user it is about.
func (g *Generator) Other(eventType string, u *User) Event {
	body, err := fixtures.Event(eventType)
	if err != nil {
		body = []byte(`{"data":{"object":"unknown","id":""},"object":"event","type":"","timestamp":0}`)
	}
	body = append([]byte(nil), body...)
	now := g.tick()
	prefix := strings.SplitN(eventType, ".", 2)[0]
	if prefix == "organization" {
		prefix = "org"
	} else if prefix == "session" {
		prefix = "sess"
	}
	body = set(body, "type", eventType)
	body = set(body, "data.id", g.ID(prefix))
	body = set(body, "timestamp", now)
	body = set(body, "instance_id", g.instance())
	for _, path := range []string{"data.created_at", "data.updated_at", "data.last_active_at"} {
		if gjson.GetBytes(body, path).Exists() {
			body = set(body, path, now)
		}
	}
	ev := Event{Type: eventType, Body: body}
	if u != nil {
		ev.UserID = u.ID
		for _, path := range []string{"data.user_id", "data.created_by"} {
			if gjson.GetBytes(body, path).Exists() {
				ev.Body = set(ev.Body, path, u.ID)
			}
		}
	}
	return ev
}

func (g *Generator) instance() string { return "ins_2pQm7Tz0Ha3MqE6y9Lc2Vr8Dk4J" }

func (g *Generator) userEvent(eventType string, u *User, at int64) Event {
	type verification struct {
		Attempts int    `json:"attempts"`
		ExpireAt int64  `json:"expire_at"`
		Status   string `json:"status"`
		Strategy string `json:"strategy"`
	}
	type emailAddress struct {
		CreatedAt    int64        `json:"created_at"`
		EmailAddress string       `json:"email_address"`
		ID           string       `json:"id"`
		LinkedTo     []any        `json:"linked_to"`
		MatchesSSO   bool         `json:"matches_sso_connection"`
		Object       string       `json:"object"`
		Reserved     bool         `json:"reserved"`
		UpdatedAt    int64        `json:"updated_at"`
		Verification verification `json:"verification"`
	}
	emails := make([]emailAddress, 0, len(u.Emails))
	for _, e := range u.Emails {
		emails = append(emails, emailAddress{
			CreatedAt: u.CreatedAt, EmailAddress: e.Address, ID: e.ID, LinkedTo: []any{},
			Object: "email_address", UpdatedAt: u.CreatedAt,
			Verification: verification{Attempts: 1, ExpireAt: u.CreatedAt + 600_000, Status: "verified", Strategy: "email_code"},
		})
	}
	phones := []any{}
	var phoneID *string
	if u.Phone != nil {
		if u.PhoneID == "" {
			u.PhoneID = g.ID("idn")
		}
		id := u.PhoneID
		phoneID = &id
		phones = append(phones, map[string]any{
			"object": "phone_number", "id": id, "phone_number": *u.Phone, "reserved": false,
			"reserved_for_second_factor": false, "default_second_factor": false, "linked_to": []any{},
			"backup_codes": nil, "created_at": u.CreatedAt, "updated_at": u.CreatedAt,
			"verification": verification{Attempts: 1, ExpireAt: u.CreatedAt + 600_000, Status: "verified", Strategy: "phone_code"},
		})
	}
	emailsJSON, _ := json.Marshal(emails)
	phonesJSON, _ := json.Marshal(phones)
	edits := []edit{
		{"data.email_addresses", emailsJSON},
		{"data.phone_numbers", phonesJSON},
		{"data.id", rawJSON(u.ID)},
		{"data.first_name", rawJSON(u.FirstName)},
		{"data.last_name", rawJSON(u.LastName)},
		{"data.username", rawJSON(u.Username)},
		{"data.image_url", rawJSON(u.ImageURL)},
		{"data.primary_email_address_id", rawJSON(u.PrimaryID)},
		{"data.primary_phone_number_id", rawJSON(phoneID)},
		{"data.external_id", rawJSON(u.ExternalID)},
		{"data.banned", rawJSON(u.Banned)},
		{"data.created_at", rawJSON(u.CreatedAt)},
		{"data.updated_at", rawJSON(u.UpdatedAt)},
		{"data.last_active_at", rawJSON(u.UpdatedAt)},
		{"data.password_enabled", rawJSON(len(u.Emails) > 0)},
		{"data.public_metadata", []byte(u.PublicMetadata())},
		{"instance_id", rawJSON(g.instance())},
		{"timestamp", rawJSON(at + int64(g.f.IntN(50)))},
		{"event_attributes.http_request.client_ip", rawJSON(g.f.IPv4Address())},
		{"event_attributes.http_request.user_agent", rawJSON(g.f.UserAgent())},
	}
	if u.LastSignInAt > 0 {
		edits = append(edits, edit{"data.last_sign_in_at", rawJSON(u.LastSignInAt)})
	}
	body := g.splice(eventType, edits)
	u.Data = []byte(gjson.GetBytes(body, "data").Raw)
	return Event{Type: eventType, UserID: u.ID, Body: body}
}

// edit is a value to put at a path of a fixture.
type edit struct {
	path string
	raw  []byte // JSON
}

// span is where a path's value lies in a fixture; ok is false when the
// fixture has no value there.
type span struct {
	at, end int
	ok      bool
}

// splice returns the fixture of eventType with each edit's value in place
// of its own. It copies the fixture once, not once per field as sjson
// would, so that generating keeps up with sending. The edits' paths must
// not nest; a path the fixture lacks is added afterwards.
func (g *Generator) splice(eventType string, edits []edit) []byte {
	fixture := g.fixture(eventType)
	type placed struct {
		span
		raw []byte
	}
	var (
		inPlace []placed
		added   []edit
		size    = len(fixture)
	)
	for _, e := range edits {
		sp := g.span(eventType, fixture, e.path)
		if !sp.ok {
			added = append(added, e)
			continue
		}
		inPlace = append(inPlace, placed{sp, e.raw})
		size += len(e.raw) - (sp.end - sp.at)
	}
	slices.SortFunc(inPlace, func(a, b placed) int { return a.at - b.at })
	out := make([]byte, 0, size)
	prev := 0
	for _, p := range inPlace {
		out = append(append(out, fixture[prev:p.at]...), p.raw...)
		prev = p.end
	}
	out = append(out, fixture[prev:]...)
	for _, e := range added {
		var err error
		if out, err = sjson.SetRawBytes(out, e.path, e.raw); err != nil {
			panic(fmt.Sprintf("set %s: %v", e.path, err)) // paths are constants of this file
		}
	}
	return out
}

// span finds path in the fixture of eventType once and remembers it.
func (g *Generator) span(eventType string, fixture []byte, path string) span {
	key := eventType + " " + path
	sp, ok := g.spans[key]
	if !ok {
		res := gjson.GetBytes(fixture, path)
		sp = span{at: res.Index, end: res.Index + len(res.Raw), ok: res.Exists() && res.Index > 0}
		if g.spans == nil {
			g.spans = map[string]span{}
		}
		g.spans[key] = sp
	}
	return sp
}

// rawJSON encodes a string, a *string (nil is null), a bool or an integer
// as sjson does, so that a spliced body is the one sjson would make.
func rawJSON(v any) []byte {
	switch v := v.(type) {
	case *string:
		if v == nil {
			return []byte("null")
		}
		return rawJSON(*v)
	case string:
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < ' ' || c > 0x7f || c == '"' || c == '\\' {
				b, _ := json.Marshal(v)
				return b
			}
		}
		return []byte(`"` + v + `"`)
	case bool:
		return strconv.AppendBool(nil, v)
	case int64:
		return strconv.AppendInt(nil, v, 10)
	}
	panic(fmt.Sprintf("rawJSON: %T", v)) // the generator encodes only these
}

// fixture returns a copy of the embedded fixture for eventType.
func (g *Generator) fixture(eventType string) []byte {
	b, err := fixtures.Event(eventType) // a copy already
	if err != nil {
		panic(err) // the generator only asks for the fixtures it ships with
	}
	return b
}

// replace makes sjson replace a value that the body has in one copy of
// it, instead of rebuilding the body along the path.
var replace = &sjson.Options{Optimistic: true}

// set writes v at path, where v is a string, number, bool or a nil pointer.
func set(body []byte, path string, v any) []byte {
	switch p := v.(type) {
	case *string:
		if p == nil {
			v = nil
		} else {
			v = *p
		}
	}
	out, err := sjson.SetBytesOptions(body, path, v, replace)
	if err != nil {
		panic(fmt.Sprintf("set %s: %v", path, err)) // paths are constants of this file
	}
	return out
}
