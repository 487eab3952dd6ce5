package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
)

// Cases is the suite, in the order it runs. Each case makes users of its
// own, so cases can run side by side and against a table that holds other
// rows.
func Cases() []Case {
	return []Case{
		{"lifecycle", "created, two updates and deleted, in order, leave the last update's row (and none for the deleted user)", lifecycle, nil},
		{"update-before-create", "a user.updated that arrives before its user.created is taken at once, and the late, older user.created does not overwrite it", updateBeforeCreate, nil},
		{"stale-update", "an older user.updated delivered after a newer one changes nothing (stale data never wins)", staleUpdate, nil},
		{"delete-then-update", "a user.updated delivered after the user's user.deleted does not bring the row back", deleteThenUpdate, nil},
		{"delete-then-create", "a user.created delivered after the user's user.deleted does not bring the user back (no resurrection)", deleteThenCreate, nil},
		{"duplicates", "the same delivery again (same svix-id, same bytes), also twice at once, is answered 2xx and changes nothing", duplicates, nil},
		{"concurrent-updates", "ten updates of one user arriving at once, newest first, leave the newest", concurrentUpdates, nil},
		{NoEmail, "two users without an email address (phone sign-ups) both get a row, with no email", noEmail, nil},
		{"swap-emails", "two users who swap email addresses end with each other's address, whatever the order", swapEmails, nil},
		{"primary-not-first", "the email is the primary address (primary_email_address_id), not the first of email_addresses", primaryNotFirst, nil},
		{"unicode-names", "names with accents, combining marks, CJK, Arabic and emoji are kept byte for byte", unicodeNames, nil},
		{"large-metadata", "a user with 7 KB of public_metadata (Clerk's limit is 8 KB) is taken like any other", largeMetadata, nil},
		{"ignored-events", "session.created, organization.created and email.created are answered 2xx (else Svix retries them for a day) and write no user row", ignoredEvents, nil},
		{"forged-signature", "deliveries signed with another secret, or changed after signing, are refused with a 4xx and change nothing", forgedSignature, nil},
		{"unsigned", "deliveries without a signature header are refused with a 4xx and change nothing", unsigned, nil},
		{"stale-signature", "deliveries signed more than 5 minutes ago or ahead (replays) are refused with a 4xx and change nothing", staleSignature, nil},
		{"standard-headers", "deliveries with the Standard Webhooks header names (webhook-id …) are verified and taken", standardHeaders, nil},
		{"org-lifecycle", "organization.created, two organization.updated and organization.deleted, in order, leave the last update's row (and none for the deleted organization)", orgLifecycle, orgTables},
		{"membership-before-org", "an organizationMembership.created that arrives before its organization.created and user.created is taken at once, with its organization, user and role", membershipBeforeOrg, orgAndMemberTables},
		{"org-delete-cascade", "organization.deleted removes its memberships' rows though no organizationMembership.deleted is sent, and a late organizationMembership.updated does not bring one back", orgDeletedWithMembers, orgAndMemberTables},
		{"role-out-of-order", "two organizationMembership.updated (role changes) delivered newest first leave the newest role", roleChangeOutOfOrder, memberTables},
	}
}

// NoEmail is the case that an instance requiring an email never meets.
const NoEmail = "no-email"

// Select returns the named cases, in suite order, or an error naming the
// unknown ones.
func Select(names []string) ([]Case, error) {
	all := Cases()
	if len(names) == 0 {
		return all, nil
	}
	var known, unknown []string
	for _, c := range all {
		known = append(known, c.Name)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown case %s; known: %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return slices.DeleteFunc(all, func(c Case) bool { return !slices.Contains(names, c.Name) }), nil
}

// seq makes each step a wave of its own: sent one after the other.
func seq(steps ...Step) [][]Step {
	waves := make([][]Step, len(steps))
	for i, s := range steps {
		waves[i] = []Step{s}
	}
	return waves
}

// step wraps ev in a delivery with a fresh svix-id, named what.
func step(g *fake.Generator, ev fake.Event, what string) Step {
	return Step{Delivery: g.Unsigned(ev), What: what}
}

// refused is step for a delivery that must be refused, spoiled by shape.
func refused(g *fake.Generator, ev fake.Event, shape fake.Shape, what string) Step {
	s := step(g, ev, what)
	s.Shape, s.Expect = shape, Refuse
	return s
}

// newUser invents a user with one email address, its primary: which
// address is first is primary-not-first's business alone.
func newUser(g *fake.Generator) *fake.User {
	u := g.NewUser()
	onlyPrimary(u)
	return u
}

// onlyPrimary drops u's addresses other than the primary.
func onlyPrimary(u *fake.User) {
	if u.PrimaryID != nil {
		u.Emails = slices.DeleteFunc(u.Emails, func(e fake.Email) bool { return e.ID != *u.PrimaryID })
	}
}

// updated is g.Updated(u) with only the primary address kept (an update
// may add a new primary address last).
func updated(g *fake.Generator, u *fake.User) fake.Event {
	ev := g.Updated(u)
	if len(u.Emails) > 1 {
		onlyPrimary(u)
		var keep []string
		for _, e := range gjson.GetBytes(ev.Body, "data.email_addresses").Array() {
			if e.Get("id").String() == *u.PrimaryID {
				keep = append(keep, e.Raw)
			}
		}
		setData(&ev, u, "email_addresses", []byte("["+strings.Join(keep, ",")+"]"))
	}
	return ev
}

// setData sets data.path of ev to raw JSON, and keeps u's copy of the data
// object in step.
func setData(ev *fake.Event, u *fake.User, path string, raw []byte) {
	body, err := sjson.SetRawBytes(ev.Body, "data."+path, raw)
	if err != nil {
		panic(fmt.Sprintf("set data.%s: %v", path, err)) // paths are constants of this file
	}
	ev.Body = body
	if u != nil {
		u.Data = []byte(gjson.GetBytes(body, "data").Raw)
	}
}

// setString sets data.path of ev to the string s.
func setString(ev *fake.Event, u *fake.User, path, s string) {
	raw, _ := sjson.Set("", "v", s)
	setData(ev, u, path, []byte(gjson.Get(raw, "v").Raw))
}

// setEmail makes address u's only, primary, email in ev, as when a user
// adds an address, makes it primary and removes the old one.
func setEmail(g *fake.Generator, ev *fake.Event, u *fake.User, address string) {
	id := g.ID("idn")
	entry := gjson.GetBytes(ev.Body, "data.email_addresses.0").Raw
	entry, _ = sjson.Set(entry, "id", id)
	entry, _ = sjson.Set(entry, "email_address", address)
	u.Emails, u.PrimaryID = []fake.Email{{ID: id, Address: address}}, &id
	setData(ev, u, "email_addresses", []byte("["+entry+"]"))
	setString(ev, u, "primary_email_address_id", id)
}

// final is what the table must hold for u once all its events are in.
func final(u *fake.User) Want {
	if !u.Deleted {
		return Want{ID: u.ID, Row: u.Row()}
	}
	alive := u.Clone()
	alive.Deleted = false
	return Want{ID: u.ID, Row: alive.Row(), Deleted: true}
}

// absent is a Clerk id that must have no row, and why.
func absent(id, why string) Want { return Want{ID: id, Why: why} }

func lifecycle(g *fake.Generator) Plan {
	a, b := newUser(g), newUser(g)
	return Plan{
		Waves: seq(
			step(g, g.Created(a), "user.created of the first user"),
			step(g, g.Created(b), "user.created of the second user"),
			step(g, updated(g, a), "the first user's user.updated"),
			step(g, updated(g, b), "the second user's user.updated"),
			step(g, updated(g, a), "the first user's second user.updated"),
			step(g, g.Deleted(a), "the first user's user.deleted"),
		),
		Wants:   []Want{final(a), final(b)},
		Cleanup: []*fake.User{a, b},
	}
}

func updateBeforeCreate(g *fake.Generator) Plan {
	u := newUser(g)
	created := g.Created(u)
	return Plan{
		Waves: seq(
			step(g, updated(g, u), "the user.updated that arrived before its user.created"),
			step(g, created, "the user.created that arrived after a newer user.updated"),
		),
		Wants:   []Want{final(u)},
		Cleanup: []*fake.User{u},
	}
}

func staleUpdate(g *fake.Generator) Plan {
	u := newUser(g)
	created, older, newer := g.Created(u), updated(g, u), updated(g, u)
	return Plan{
		Waves: seq(
			step(g, created, "user.created"),
			step(g, newer, "the newer user.updated"),
			step(g, older, "the older user.updated, delivered last"),
		),
		Wants:   []Want{final(u)},
		Cleanup: []*fake.User{u},
	}
}

func deleteThenUpdate(g *fake.Generator) Plan {
	u := newUser(g)
	created, update, deleted := g.Created(u), updated(g, u), g.Deleted(u)
	return Plan{
		Waves: seq(
			step(g, created, "user.created"),
			step(g, deleted, "user.deleted"),
			step(g, update, "the user.updated delivered after user.deleted"),
		),
		Wants:   []Want{final(u)},
		Cleanup: []*fake.User{u},
	}
}

func deleteThenCreate(g *fake.Generator) Plan {
	u := newUser(g)
	created, deleted := g.Created(u), g.Deleted(u)
	return Plan{
		Waves: seq(
			step(g, deleted, "user.deleted"),
			step(g, created, "the user.created delivered after user.deleted"),
		),
		Wants:   []Want{final(u)},
		Cleanup: []*fake.User{u},
	}
}

func duplicates(g *fake.Generator) Plan {
	u := newUser(g)
	created := step(g, g.Created(u), "user.created")
	update := step(g, updated(g, u), "user.updated")
	last := step(g, updated(g, u), "the second user.updated")
	again := func(s Step) Step {
		s.What = "the same " + s.What + " again"
		return s
	}
	waves := seq(created, again(created), update, again(created), again(update), again(update))
	waves = append(waves, []Step{last, again(last)}) // at once, as when Svix retries a slow answer
	return Plan{Waves: waves, Wants: []Want{final(u)}, Cleanup: []*fake.User{u}}
}

func concurrentUpdates(g *fake.Generator) Plan {
	const users, updates = 3, 10
	var (
		created, burst []Step
		wants          []Want
		all            []*fake.User
	)
	for range users {
		u := newUser(g)
		created = append(created, step(g, g.Created(u), "user.created"))
		evs := make([]fake.Event, updates)
		for i := range evs {
			evs[i] = updated(g, u)
		}
		for i := updates - 1; i >= 0; i-- { // the newest goes out first
			burst = append(burst, step(g, evs[i], fmt.Sprintf("user.updated %d of %d (sent at once)", i+1, updates)))
		}
		wants, all = append(wants, final(u)), append(all, u)
	}
	return Plan{Waves: [][]Step{created, burst}, Wants: wants, Cleanup: all}
}

func noEmail(g *fake.Generator) Plan {
	// Phone-only until the updates are made too: an update may otherwise
	// give the user an email, and the case would test nothing.
	g.Profile = fake.ProfilePhoneOnly
	a, b := g.NewUser(), g.NewUser()
	waves := seq(
		step(g, g.Created(a), "user.created of the first user without an email"),
		step(g, g.Created(b), "user.created of the second user without an email"),
		step(g, updated(g, a), "the first user's user.updated"),
		step(g, updated(g, b), "the second user's user.updated"),
	)
	g.Profile = fake.ProfileEmailRequired
	return Plan{
		Waves:   waves,
		Wants:   []Want{final(a), final(b)},
		Cleanup: []*fake.User{a, b},
	}
}

func swapEmails(g *fake.Generator) Plan {
	a, b := newUser(g), newUser(g)
	addrA, addrB := a.Emails[0].Address, b.Emails[0].Address
	createdA, createdB := g.Created(a), g.Created(b)
	away := updated(g, b) // b first moves to a third address, freeing its own
	setEmail(g, &away, b, "swap."+strings.ToLower(b.ID[len(b.ID)-10:])+"@example.net")
	toA := updated(g, a)
	setEmail(g, &toA, a, addrB)
	toB := updated(g, b)
	setEmail(g, &toB, b, addrA)
	return Plan{
		Waves: seq(
			step(g, createdA, "user.created of the first user"),
			step(g, createdB, "user.created of the second user"),
			step(g, toA, "the first user's user.updated taking the second's address"),
			step(g, toB, "the second user's user.updated taking the first's address"),
			step(g, away, "the second user's older user.updated to a third address"),
		),
		Wants:   []Want{final(a), final(b)},
		Cleanup: []*fake.User{a, b},
	}
}

func primaryNotFirst(g *fake.Generator) Plan {
	u := newUser(g)
	other := fake.Email{ID: g.ID("idn"), Address: "secondary." + u.Emails[0].Address}
	u.Emails = append([]fake.Email{other}, u.Emails...)
	created := g.Created(u)
	update := g.Updated(u) // may add a new primary, last
	return Plan{
		Waves: seq(
			step(g, created, "user.created with the primary address second"),
			step(g, update, "user.updated with the primary address not first"),
		),
		Wants:   []Want{final(u)},
		Cleanup: []*fake.User{u},
	}
}

func unicodeNames(g *fake.Generator) Plan {
	u := newUser(g)
	first, last := "Zoë Ångström-Łukasz 🦊", "Nguyễn Thị 李小龍 محمد"
	u.FirstName, u.LastName = &first, &last
	created := g.Created(u)
	update := updated(g, u)
	first2, last2 := "Rene\u0301e Ἀλέξανδρος Þórður", "Ørsted-Kühn 🎉 Ñandú"
	u.FirstName, u.LastName = &first2, &last2
	setString(&update, u, "first_name", first2)
	setString(&update, u, "last_name", last2)
	return Plan{
		Waves: seq(
			step(g, created, "user.created with unicode names"),
			step(g, update, "user.updated with other unicode names (a combining accent, Greek, Icelandic, emoji)"),
		),
		Wants:   []Want{final(u)},
		Cleanup: []*fake.User{u},
	}
}

// bigMetadata is 7 KB of public_metadata, nested, with unicode: near
// Clerk's 8 KB limit, and with the rest of the event well over 8 KiB.
func bigMetadata() string {
	var notes []string
	size := 0
	for i := 0; size < 6500; i++ {
		n := fmt.Sprintf(`{"n":%d,"text":"note %d: onboarding step done — ✓ café","done":true}`, i, i)
		notes, size = append(notes, n), size+len(n)+1
	}
	return `{"plan":"enterprise","seats":250,"profile":{"bio":"` + strings.Repeat("Builds things. ", 30) + `"},"notes":[` + strings.Join(notes, ",") + `]}`
}

func largeMetadata(g *fake.Generator) Plan {
	u := newUser(g)
	meta := bigMetadata()
	created := g.Created(u)
	setData(&created, u, "public_metadata", []byte(meta))
	update := updated(g, u)
	setData(&update, u, "public_metadata", []byte(meta))
	want := final(u)
	canonical, _, err := mapping.Canonical(mapping.JSON, meta)
	if err != nil {
		panic(err) // bigMetadata writes valid JSON
	}
	want.Row.Other["public_metadata"] = canonical
	return Plan{
		Waves: seq(
			step(g, created, "user.created with 7 KB of public_metadata"),
			step(g, update, "user.updated with 7 KB of public_metadata"),
		),
		Wants:   []Want{want},
		Cleanup: []*fake.User{u},
	}
}

func ignoredEvents(g *fake.Generator) Plan {
	u := newUser(g)
	steps := []Step{step(g, g.Created(u), "user.created")}
	wants := []Want{final(u)}
	var orgs []*fake.Org
	for _, typ := range []string{"session.created", "organization.created", "email.created"} {
		ev := g.Other(typ, u)
		steps = append(steps, step(g, ev, typ))
		id := gjson.GetBytes(ev.Body, "data.id").String()
		wants = append(wants, absent(id, typ+" is not a user event"))
		if typ == "organization.created" { // a handler that syncs organizations keeps it: delete it after
			orgs = append(orgs, g.OrgWithID(id))
		}
	}
	return Plan{Waves: seq(steps...), Wants: wants, Cleanup: []*fake.User{u}, Orgs: orgs}
}

func forgedSignature(g *fake.Generator) Plan {
	a, b := newUser(g), newUser(g)
	created := g.Created(a)
	forgedUpdate := g.Updated(a.Clone())
	setString(&forgedUpdate, nil, "first_name", "Mallory")
	return Plan{
		Waves: seq(
			step(g, created, "user.created"),
			refused(g, forgedUpdate, fake.Shape{Tamper: fake.TamperSecret}, "a user.updated signed with another secret"),
			refused(g, g.Deleted(a.Clone()), fake.Shape{Tamper: fake.TamperSignature}, "a user.deleted with a spoiled signature"),
			refused(g, g.Created(b), fake.Shape{Tamper: fake.TamperBody}, "a user.created changed after signing"),
		),
		Wants:   []Want{final(a), absent(b.ID, "its only delivery was forged")},
		Cleanup: []*fake.User{a, b},
	}
}

func unsigned(g *fake.Generator) Plan {
	a, b := newUser(g), newUser(g)
	return Plan{
		Waves: seq(
			step(g, g.Created(a), "user.created"),
			refused(g, g.Deleted(a.Clone()), fake.Shape{NoSign: true}, "an unsigned user.deleted"),
			refused(g, g.Created(b), fake.Shape{NoSign: true}, "an unsigned user.created"),
		),
		Wants:   []Want{final(a), absent(b.ID, "its only delivery was unsigned")},
		Cleanup: []*fake.User{a, b},
	}
}

func staleSignature(g *fake.Generator) Plan {
	a, b := newUser(g), newUser(g)
	created := g.Created(a)
	replay := g.Updated(a.Clone())
	setString(&replay, nil, "first_name", "Replayed")
	return Plan{
		Waves: seq(
			step(g, created, "user.created"),
			refused(g, replay, fake.Shape{Skew: -6 * time.Minute}, "a user.updated signed 6 minutes ago"),
			refused(g, g.Created(b), fake.Shape{Skew: 6 * time.Minute}, "a user.created signed 6 minutes ahead"),
		),
		Wants:   []Want{final(a), absent(b.ID, "its only delivery was signed outside the 5-minute tolerance")},
		Cleanup: []*fake.User{a, b},
	}
}

func standardHeaders(g *fake.Generator) Plan {
	u := newUser(g)
	shape := fake.Shape{Headers: fake.HeadersWebhook}
	created, update := step(g, g.Created(u), "user.created with webhook-* headers"), step(g, updated(g, u), "user.updated with webhook-* headers")
	created.Shape, update.Shape = shape, shape
	return Plan{Waves: seq(created, update), Wants: []Want{final(u)}, Cleanup: []*fake.User{u}}
}
