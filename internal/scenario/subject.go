package scenario

import (
	"errors"
	"fmt"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
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
