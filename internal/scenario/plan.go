package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Options are what a Plan draws on besides the scenario.
type Options struct {
	// Gen generates the events; required. Its seed makes a plan repeatable.
	Gen *fake.Generator
	// Env answers ${.env:VAR} (the command passes os.LookupEnv or its
	// configuration); nil means that nothing is set.
	Env func(string) (string, bool)
	// Now answers ${.now}; nil means time.Now.
	Now func() time.Time
	// Rand draws the duplicates and the shuffle; required when either is
	// asked for.
	Rand *rand.Rand
	// Shuffle delivers in a random order (duplicates included) instead of
	// the scenario's.
	Shuffle bool
	// Duplicate adds that many extra copies of randomly chosen deliveries.
	// Without Shuffle each copy goes to a random place after its original,
	// as a redelivery would.
	Duplicate int
}

// tooLarge is the error of a plan past MaxDeliveries.
func (s *Scenario) tooLarge(deliveries, duplicates int) error {
	return s.errorf("", "more than %d deliveries (%d so far, %d of them duplicates): lower its counts or the duplicates; for load, use mockclerk send --count, which streams", MaxDeliveries, deliveries, duplicates)
}

// Plan is a scenario's deliveries and the rows they must leave behind.
type Plan struct {
	// Events are in the order to send them.
	Events []Planned
	// Users are the users that the delivered user events are about, each
	// as of the latest of those events (Deleted when any delivered event
	// deletes it): whatever the delivery order, the users table must end
	// with exactly the non-nil u.Row() of these.
	Users []*fake.User
	// Orgs are the same for organizations and the organizations table.
	Orgs []*fake.Org
	// Members are the same for memberships and the memberships table,
	// each with its Org and User as the plan expects them: Deleted when a
	// delivered event deletes them, which removes the membership whatever
	// the order (Row is then nil).
	Members []*fake.Member
}

// Rows are the rows that the table of kind must end with, in full (every
// field, as the generator's Row gives it).
func (p Plan) Rows(kind store.Kind) []store.User {
	var rows []store.User
	add := func(r *store.User) {
		if r != nil {
			rows = append(rows, *r)
		}
	}
	switch kind {
	case store.KindUser:
		for _, u := range p.Users {
			add(u.Row())
		}
	case store.KindOrganization:
		for _, o := range p.Orgs {
			add(o.Row())
		}
	case store.KindMembership:
		for _, m := range p.Members {
			add(m.Row())
		}
	}
	return rows
}

// Deliveries gives each distinct delivery of the plan (each Key) one new
// svix-id from g, and returns the deliveries in send order, unsigned: Svix
// signs every attempt when it is made.
func (p Plan) Deliveries(g *fake.Generator) []fake.Delivery {
	ids := map[int]string{}
	ds := make([]fake.Delivery, 0, len(p.Events))
	for _, ev := range p.Events {
		id, ok := ids[ev.Key]
		if !ok {
			id = g.ID("msg")
			ids[ev.Key] = id
		}
		ds = append(ds, fake.Delivery{ID: id, Body: ev.Event.Body, Event: ev.Event})
	}
	return ds
}

// MaxDeliveries bounds a plan, duplicates included: a scenario is held
// whole in memory to lay out its order and the rows it must leave, so it
// is a test case, not a load test (mockclerk send --count streams).
const MaxDeliveries = 20_000

// Planned is one delivery of a plan.
type Planned struct {
	// Step is the step's name, "name#i" for a step with a count.
	Step  string
	Event fake.Event
	// Key identifies the delivery: events with the same Key are the same
	// delivery (one svix-id, the same bytes) sent again. Keys count from 0
	// in the order the events were generated.
	Key int
}

// instance is one generated event of a step. For an event of a synced
// kind, one of user, org and member holds the entity it is about.
type instance struct {
	name   string
	key    int
	ev     fake.Event
	user   seen[fake.User]
	org    seen[fake.Org]
	member seen[fake.Member]
	// updatedAt is the entity's updated_at right after the event.
	updatedAt int64
}

// seen is the entity an event is about and a copy of it right after the
// event; both nil when the event is about another kind.
type seen[T any] struct{ of, snap *T }

// planner holds the state of one Plan run.
type planner struct {
	ctx    context.Context
	s      *Scenario
	c      *compiled
	opts   Options
	counts map[string]int       // step name → its number of instances
	byName map[string]*instance // instance name → instance
	all    []*instance          // in generation order; key = position
	// The entities in the order the scenario first met them, and by id.
	users      []*fake.User
	byID       map[string]*fake.User
	orgs       []*fake.Org
	orgByID    map[string]*fake.Org
	members    []*fake.Member
	memberByID map[string]*fake.Member
	// last is the latest event about each entity so far.
	last map[any]*instance
}

// Plan generates the scenario's events in file order and lays out their
// deliveries. Any error wraps ErrInvalid (or is a misuse of Options, or
// ctx's error when it ends first) and comes before anything is sent.
func (s *Scenario) Plan(ctx context.Context, opts Options) (Plan, error) {
	c, err := s.compile()
	if err != nil {
		return Plan{}, err
	}
	switch {
	case opts.Gen == nil:
		return Plan{}, errors.New("plan: Options.Gen is required")
	case opts.Duplicate < 0:
		return Plan{}, fmt.Errorf("plan: Duplicate %d is negative", opts.Duplicate)
	case (opts.Shuffle || opts.Duplicate > 0) && opts.Rand == nil:
		return Plan{}, errors.New("plan: Options.Rand is required to shuffle or duplicate")
	case opts.Duplicate >= MaxDeliveries:
		return Plan{}, s.tooLarge(opts.Duplicate, opts.Duplicate)
	}
	if opts.Env == nil {
		opts.Env = func(string) (string, bool) { return "", false }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &planner{
		ctx: ctx, s: s, c: c, opts: opts,
		counts: map[string]int{}, byName: map[string]*instance{},
		byID: map[string]*fake.User{}, orgByID: map[string]*fake.Org{}, memberByID: map[string]*fake.Member{},
		last: map[any]*instance{},
	}
	for i := range c.steps {
		if err := p.generateStep(&c.steps[i]); err != nil {
			return Plan{}, err
		}
	}
	events, err := p.deliveries()
	if err != nil {
		return Plan{}, err
	}
	r := opts.Rand
	if opts.Shuffle {
		events = append(events, copies(events, opts.Duplicate, r)...)
		r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	} else {
		events = redeliver(events, opts.Duplicate, r)
	}
	plan := Plan{Events: events}
	plan.Users, plan.Orgs, plan.Members = p.expected(events)
	return plan, nil
}

func (p *planner) generateStep(st *compiledStep) error {
	n := st.fixed
	if st.count != nil {
		text, err := p.eval(st.count)
		if err != nil {
			return p.s.errorf(st.Name, "count: %v", err)
		}
		if n, err = strconv.Atoi(text); err != nil {
			return p.s.errorf(st.Name, "count: %q is not a whole number", text)
		}
		if err := checkCount(n); err != nil {
			return p.s.errorf(st.Name, "count: %v", err)
		}
	}
	p.counts[st.Name] = n
	for i := 1; i <= n; i++ {
		if err := p.grow(len(p.all)); err != nil {
			return err
		}
		name := st.Name
		if st.repeats {
			name = fmt.Sprintf("%s#%d", st.Name, i)
		}
		inst, err := p.generate(st, name)
		if err != nil {
			return p.s.errorf(name, "%v", err)
		}
		inst.key = len(p.all)
		p.all = append(p.all, inst)
		p.byName[name] = inst
	}
	return nil
}

// generate makes one event of st. Errors name the field, not the step.
func (p *planner) generate(st *compiledStep, name string) (*instance, error) {
	inst := &instance{name: name}
	var err error
	switch kind, _, _ := clerk.KindOf(st.Event); kind {
	case store.KindOrganization:
		err = p.generateOrg(st, inst)
	case store.KindMembership:
		err = p.generateMember(st, inst)
	default:
		err = p.generateUser(st, inst)
	}
	return inst, err
}

// generateUser makes a user event, or an event of a type the sync
// ignores, which may name a user.
func (p *planner) generateUser(st *compiledStep, inst *instance) error {
	var u *fake.User
	if st.user != nil {
		var err error
		if u, err = p.subjectUser(st, clerk.IsUserEvent(st.Event)); err != nil {
			return err
		}
	}
	ev, u, err := p.opts.Gen.Event(st.Event, u)
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	if inst.ev, err = p.applySet(st, ev); err != nil {
		return err
	}
	if !clerk.IsUserEvent(st.Event) {
		return nil
	}
	if len(st.set) > 0 {
		if err := p.follow(u, inst.ev); err != nil {
			return fmt.Errorf("set: %w", err)
		}
		inst.ev.UserID = u.ID
	}
	if st.Event == clerk.UserCreated {
		if err := register(p.byID, &p.users, aUser, u.ID, u); err != nil {
			return err
		}
	}
	inst.user = seen[fake.User]{u, u.Clone()}
	return p.moved(u, inst, u.UpdatedAt, st.Event == clerk.UserDeleted)
}

// subjectUser resolves the step's user. Unless alive is false, a deleted
// user is an error: Clerk sends nothing more about it.
func (p *planner) subjectUser(st *compiledStep, alive bool) (*fake.User, error) {
	id, err := p.eval(st.user)
	if err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	u, err := p.user(id)
	if err != nil {
		return nil, fmt.Errorf("user: %w", err)
	}
	if alive && u.Deleted {
		return nil, fmt.Errorf("user: %s", p.gone("user", u.ID, u))
	}
	return u, nil
}

// gone is the message for an event about an entity that a step deleted.
func (p *planner) gone(what, id string, entity any) string {
	return fmt.Sprintf("%s %s was deleted by step %q before this one, and Clerk sends nothing about a deleted %s (to deliver an event late, put it before the delete and reorder it with send)", what, id, p.last[entity].name, what)
}

// applySet applies the step's set to ev's body.
func (p *planner) applySet(st *compiledStep, ev fake.Event) (fake.Event, error) {
	var err error
	for _, set := range st.set {
		v := string(set.raw)
		if set.tmpl != nil {
			if v, err = p.evalJSON(set.tmpl); err != nil {
				return ev, fmt.Errorf("set %q: %w", set.path, err)
			}
		}
		if ev.Body, err = fake.Override(ev.Body, set.path, v); err != nil {
			return ev, fmt.Errorf("set %q: %w", set.path, err)
		}
	}
	return ev, nil
}

// moved checks that an event about entity moves its updated_at forward
// (a deletion need not), and makes inst the entity's latest event. The
// sync keeps the highest updated_at: an event that did not move it
// forward would make the final row depend on the order.
func (p *planner) moved(entity any, inst *instance, updatedAt int64, deletion bool) error {
	if prev := p.last[entity]; prev != nil && !deletion && updatedAt <= prev.updatedAt {
		return fmt.Errorf("set: updated_at %d is not after %d of step %q", updatedAt, prev.updatedAt, prev.name)
	}
	inst.updatedAt = updatedAt
	p.last[entity] = inst
	return nil
}

// user returns the user with this id: one the scenario has met, or one
// that exists in Clerk already, whose details are invented.
func (p *planner) user(id string) (*fake.User, error) {
	if u, ok := p.byID[id]; ok {
		return u, nil
	}
	if err := aUser.checkID(id); err != nil {
		return nil, err
	}
	u := p.opts.Gen.UserWithID(id)
	p.byID[id] = u
	p.users = append(p.users, u)
	return u, nil
}

// follow brings u in line with an event whose fields a step has set, so
// that the expected row is what the sync makes of the event.
func (p *planner) follow(u *fake.User, ev fake.Event) error {
	change, err := aUser.parseSet(ev, u.ID, ev.Type == clerk.UserCreated)
	if err != nil {
		return err
	}
	u.ID = change.ID
	if ev.Type == clerk.UserDeleted {
		return nil
	}
	if change.ImageURL == nil {
		// fake.User cannot express a user without an image.
		return errors.New("data.image_url must stay a non-empty string")
	}
	u.FirstName, u.LastName, u.Username, u.ImageURL = change.FirstName, change.LastName, change.Username, *change.ImageURL
	u.CreatedAt, u.UpdatedAt = change.CreatedAt.UnixMilli(), change.UpdatedAt.UnixMilli()
	u.Emails = nil
	for _, e := range gjson.GetBytes(ev.Body, "data.email_addresses").Array() {
		u.Emails = append(u.Emails, fake.Email{ID: e.Get("id").Str, Address: e.Get("email_address").Str})
	}
	u.PrimaryID = nil
	if id := gjson.GetBytes(ev.Body, "data.primary_email_address_id"); id.Type == gjson.String {
		u.PrimaryID = &id.Str
	}
	return nil
}

// grow is asked before the plan grows past n deliveries: it stops a plan
// that would pass MaxDeliveries, duplicates included, or whose ctx ended.
func (p *planner) grow(n int) error {
	if err := p.ctx.Err(); err != nil {
		return fmt.Errorf("planning %s: %w", p.s.Name, err)
	}
	if n+1+p.opts.Duplicate > MaxDeliveries {
		return p.s.tooLarge(n+1+p.opts.Duplicate, p.opts.Duplicate)
	}
	return nil
}

// deliveries lists the scenario's deliveries in its send order.
func (p *planner) deliveries() ([]Planned, error) {
	var out []Planned
	add := func(inst *instance) error {
		if err := p.grow(len(out)); err != nil {
			return err
		}
		out = append(out, Planned{Step: inst.name, Event: inst.ev, Key: inst.key})
		return nil
	}
	if p.s.Send == nil {
		for _, inst := range p.all {
			if err := add(inst); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for _, name := range p.s.Send {
		if inst, ok := p.byName[name]; ok {
			if err := add(inst); err != nil {
				return nil, err
			}
			continue
		}
		// Not an instance's name: "step#i" past a count read from the
		// environment, or a step with a count, which stands for all of it.
		base, i, _ := splitIndex(name)
		if i > 0 {
			return nil, p.s.errorf("", "send %q: step %q happens %d times, there is no #%d", name, base, p.counts[base], i)
		}
		for i := 1; i <= p.counts[base]; i++ {
			if err := add(p.byName[fmt.Sprintf("%s#%d", base, i)]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// copies returns n randomly chosen events of events, each once more.
func copies[T any](events []T, n int, r *rand.Rand) []T {
	if len(events) == 0 {
		return nil
	}
	out := make([]T, 0, n)
	for range n {
		out = append(out, events[r.IntN(len(events))])
	}
	return out
}

// redeliver adds n copies of randomly chosen events, each at a random
// place after its original, as a redelivery comes. It draws every copy's
// place first and then lays out the result in one pass, so its work grows
// with len(events)+n, not with their product.
func redeliver[T any](events []T, n int, r *rand.Rand) []T {
	if n == 0 || len(events) == 0 {
		return events
	}
	// before[k] holds the copies that go just before events[k]; k ==
	// len(events) is the end.
	before := make([][]T, len(events)+1)
	for range n {
		i := r.IntN(len(events))
		k := i + 1 + r.IntN(len(events)-i)
		before[k] = append(before[k], events[i])
	}
	out := make([]T, 0, len(events)+n)
	for k, ev := range events {
		out = append(out, before[k]...)
		out = append(out, ev)
	}
	return append(out, before[len(events)]...)
}

// expected works out the entities of Plan from the deliveries, by the
// sync's rules: an entity's row is made by its latest delivered event
// (versions grow in file order) unless a delivered deletion tombstones it
// for good, and a membership goes with its organization or its user,
// whether their deletion is delivered before it or after.
func (p *planner) expected(events []Planned) ([]*fake.User, []*fake.Org, []*fake.Member) {
	delivered := make(map[int]bool, len(events))
	for _, e := range events {
		delivered[e.Key] = true
	}
	users := map[*fake.User]*fake.User{}
	orgs := map[*fake.Org]*fake.Org{}
	members := map[*fake.Member]*fake.Member{}
	for _, inst := range p.all {
		if delivered[inst.key] {
			latest(users, inst.user, func(u *fake.User) bool { return u.Deleted })
			latest(orgs, inst.org, func(o *fake.Org) bool { return o.Deleted })
			latest(members, inst.member, func(m *fake.Member) bool { return m.Deleted })
		}
	}
	var ms []*fake.Member
	for _, m := range inOrder(p.members, members) {
		c := *m
		c.Org = orgs[m.Org]
		if c.Org == nil { // no event of it delivered: alive, as far as the sync knows
			c.Org = copyOf(m.Org)
			c.Org.Deleted = false
		}
		c.User = users[m.User]
		if c.User == nil {
			c.User = m.User.Clone()
			c.User.Deleted = false
		}
		ms = append(ms, &c)
	}
	return inOrder(p.users, users), inOrder(p.orgs, orgs), ms
}

// latest makes the snapshot of a delivered event its entity's final
// state, unless a delivered deletion came before it in file order.
func latest[T any](final map[*T]*T, s seen[T], deleted func(*T) bool) {
	if s.of == nil {
		return
	}
	if f := final[s.of]; f == nil || !deleted(f) {
		final[s.of] = s.snap
	}
}

// inOrder lists the final states of the entities that have one, in the
// order the scenario met the entities.
func inOrder[T any](entities []*T, final map[*T]*T) []*T {
	var out []*T
	for _, e := range entities {
		if f := final[e]; f != nil {
			out = append(out, f)
		}
	}
	return out
}

// eval resolves a template to a string.
func (p *planner) eval(t template) (string, error) {
	var b strings.Builder
	for _, seg := range t {
		if seg.ref == nil {
			b.WriteString(seg.lit)
			continue
		}
		v, err := p.resolve(seg.ref)
		if err != nil {
			return "", err
		}
		b.WriteString(v.text())
	}
	return b.String(), nil
}

// evalJSON resolves a set value to the JSON that fake.Override sets: a
// lone reference keeps the type of what it points at, anything else is a
// string.
func (p *planner) evalJSON(t template) (string, error) {
	if len(t) == 1 && t[0].ref != nil {
		v, err := p.resolve(t[0].ref)
		if err != nil {
			return "", err
		}
		if v.json != "" {
			return v.json, nil
		}
	}
	s, err := p.eval(t)
	if err != nil {
		return "", err
	}
	// Quoted, so that fake.Override does not read "123" or "null" as JSON.
	b, _ := json.Marshal(s)
	return string(b), nil
}

// resolve gives the value of one reference.
func (p *planner) resolve(r *ref) (value, error) {
	switch r.kind {
	case refEnv:
		if v, ok := p.opts.Env(r.arg); ok {
			return value{str: v}, nil
		}
		if r.hasDef {
			return value{str: r.def}, nil
		}
		return value{}, fmt.Errorf("%s: %s is not set and there is no default (%s)", r.text, r.arg, "${.env:"+r.arg+"|default}")
	case refID:
		return value{str: p.opts.Gen.ID(r.arg)}, nil
	case refNow:
		return value{json: strconv.FormatInt(p.opts.Now().UnixMilli(), 10)}, nil
	}
	name := r.step
	if r.index > 0 {
		name = fmt.Sprintf("%s#%d", r.step, r.index)
	}
	inst, ok := p.byName[name]
	if !ok {
		return value{}, fmt.Errorf("%s: step %q happens %d times, there is no #%d", r.text, r.step, p.counts[r.step], r.index)
	}
	res := gjson.GetBytes(inst.ev.Body, r.arg)
	switch {
	case !res.Exists() && r.hasDef:
		return value{str: r.def}, nil
	case !res.Exists():
		return value{}, fmt.Errorf("%s: nothing at %q in the event of step %q", r.text, r.arg, name)
	case res.Type == gjson.String:
		return value{str: res.Str}, nil
	}
	return value{json: res.Raw}, nil
}
