package scenario

import (
	"errors"
	"fmt"
	"strings"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// need says whether a step names one of its subjects: the user, the
// organization or the membership its event is about.
type need int

const (
	forbidden need = iota
	optional
	required
)

// rule is what an event type asks of one of a step's subject fields.
type rule struct {
	field string // "user", "org" or "membership"
	need  need
	why   string // forbidden: why not; required: what to name, with an example
}

// subjects are the rules of an event type for the fields user, org and
// membership: each event names what Clerk's own event is about, and
// nothing that the event cannot carry.
func subjects(eventType string) (user, org, member rule) {
	user = rule{field: "user", need: optional}
	org = rule{field: "org", why: "only organization and membership events name an organization"}
	member = rule{field: "membership", why: "only organizationMembership.updated and .deleted name a membership"}
	switch eventType {
	case clerk.UserCreated:
		user = rule{field: "user", why: "user.created always makes a new user (set \"id\" to choose its id)"}
	case clerk.UserUpdated, clerk.UserDeleted:
		user.need, user.why = required, `the user it acts on, e.g. "${created:data.id}"`
	case clerk.OrganizationCreated:
		// user, when given, is the organization's creator.
		org.why = `organization.created always makes a new organization (set "id" to choose its id; "user" names its creator)`
	case clerk.OrganizationUpdated, clerk.OrganizationDeleted:
		user = rule{field: "user", why: eventType + ` is about the organization alone ("user" on organization.created names its creator)`}
		org.need, org.why = required, `the organization it acts on, e.g. "${acme:data.id}"`
	case clerk.MembershipCreated:
		user.need, user.why = required, `the user who joins, e.g. "${ada:data.id}"`
		org.need, org.why = required, `the organization joined, e.g. "${acme:data.id}"`
		member.why = `organizationMembership.created always makes a new membership (set "id" to choose its id)`
	case clerk.MembershipUpdated, clerk.MembershipDeleted:
		why := eventType + ` names its membership alone, and the membership its organization and user`
		user = rule{field: "user", why: why}
		org.why = why
		member.need, member.why = required, `the membership it acts on, e.g. "${joined:data.id}"`
	}
	return user, org, member
}

// check applies r to the field's text ("" when the step leaves it out).
func (r rule) check(eventType, text string) error {
	switch {
	case text == "" && r.need == required:
		return fmt.Errorf("%s needs %s", eventType, r.why)
	case text != "" && r.need == forbidden:
		return errors.New(r.why)
	}
	return nil
}

// noun is a kind of entity as a scenario names it: in messages, by the
// prefix of its ids, and by the step field that refers to one.
type noun struct{ name, article, prefix, field string }

var (
	aUser       = noun{"user", "a user", "user_", "user"}
	anOrg       = noun{"organization", "an organization", "org_", "org"}
	aMembership = noun{"membership", "a membership", "orgmem_", "membership"}
)

// checkID accepts the Clerk ids of n.
func (n noun) checkID(id string) error {
	if !strings.HasPrefix(id, n.prefix) || len(id) == len(n.prefix) {
		return fmt.Errorf("%q is not %s id (%s…)", id, n.article, n.prefix)
	}
	return nil
}

// parseSet parses an event whose fields a step has set, and checks that
// its data.id is still the entity's (id), or any id of n when the event
// creates the entity.
func (n noun) parseSet(ev fake.Event, id string, creates bool) (*store.Change, error) {
	_, change, err := clerk.Parse(ev.Body)
	if err != nil {
		return nil, fmt.Errorf("the event no longer parses: %w", err)
	}
	if change.ID != id && !creates {
		return nil, fmt.Errorf("data.id %q is not the step's %s %s: choose the %s with %q", change.ID, n.name, id, n.name, n.field)
	}
	if err := n.checkID(change.ID); err != nil {
		return nil, fmt.Errorf("data.id: %w", err)
	}
	return change, nil
}

// register records an entity of n under its id, in the order the
// scenario meets them, unless a step named that id already.
func register[T any](byID map[string]*T, list *[]*T, n noun, id string, e *T) error {
	if _, ok := byID[id]; ok {
		return fmt.Errorf("set: another step of the scenario names %s %s already", n.name, id)
	}
	byID[id] = e
	*list = append(*list, e)
	return nil
}
