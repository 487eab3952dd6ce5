package scenario

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// generateOrg makes an organization event: organization.created makes a
// new organization (created by the step's user, when it names one), the
// others act on the step's org.
func (p *planner) generateOrg(st *compiledStep, inst *instance) error {
	o, ev, err := p.orgEvent(st)
	if err != nil {
		return err
	}
	if inst.ev, err = p.setAndFollow(st, ev, func(ev fake.Event) error { return followOrg(o, ev) }); err != nil {
		return err
	}
	if st.Event == clerk.OrganizationCreated {
		if err := register(p.orgByID, &p.orgs, anOrg, o.ID, o); err != nil {
			return err
		}
	}
	inst.org = seen[fake.Org]{o, copyOf(o)}
	return p.moved(o, inst, o.UpdatedAt, o.Deleted)
}

// orgEvent generates the event of an organization step, about the
// organization it returns.
func (p *planner) orgEvent(st *compiledStep) (*fake.Org, fake.Event, error) {
	g := p.opts.Gen
	if st.Event == clerk.OrganizationCreated {
		var creator *fake.User
		if st.user != nil {
			var err error
			if creator, err = p.subjectUser(st, true); err != nil {
				return nil, fake.Event{}, err
			}
		}
		o := g.NewOrg(creator)
		return o, g.OrgCreated(o), nil
	}
	o, err := p.subjectOrg(st)
	switch {
	case err != nil:
		return nil, fake.Event{}, err
	case st.Event == clerk.OrganizationUpdated:
		return o, g.OrgUpdated(o), nil
	}
	return o, g.OrgDeleted(o), nil
}

// generateMember makes a membership event: organizationMembership.created
// makes the step's user a member of the step's org, the others act on the
// step's membership.
func (p *planner) generateMember(st *compiledStep, inst *instance) error {
	m, ev, err := p.memberEvent(st)
	if err != nil {
		return err
	}
	if inst.ev, err = p.setAndFollow(st, ev, func(ev fake.Event) error { return followMember(m, ev) }); err != nil {
		return err
	}
	if st.Event == clerk.MembershipCreated {
		if err := register(p.memberByID, &p.members, aMembership, m.ID, m); err != nil {
			return err
		}
	}
	inst.member = seen[fake.Member]{m, copyOf(m)}
	return p.moved(m, inst, m.UpdatedAt, m.Deleted)
}

// memberEvent generates the event of a membership step, about the
// membership it returns.
func (p *planner) memberEvent(st *compiledStep) (*fake.Member, fake.Event, error) {
	g := p.opts.Gen
	if st.Event == clerk.MembershipCreated {
		o, err := p.subjectOrg(st)
		if err != nil {
			return nil, fake.Event{}, err
		}
		u, err := p.subjectUser(st, true)
		if err != nil {
			return nil, fake.Event{}, err
		}
		m := g.NewMember(o, u)
		return m, g.MemberCreated(m), nil
	}
	m, err := p.subjectMember(st)
	switch {
	case err != nil:
		return nil, fake.Event{}, err
	case st.Event == clerk.MembershipUpdated:
		return m, g.MemberUpdated(m), nil
	}
	return m, g.MemberDeleted(m), nil
}

// setAndFollow applies the step's set to ev and, when it sets anything,
// brings the entity's picture in line with the event through follow.
func (p *planner) setAndFollow(st *compiledStep, ev fake.Event, follow func(fake.Event) error) (fake.Event, error) {
	ev, err := p.applySet(st, ev)
	if err != nil || len(st.set) == 0 {
		return ev, err
	}
	if err := follow(ev); err != nil {
		return ev, fmt.Errorf("set: %w", err)
	}
	return ev, nil
}

// subjectOrg resolves the step's org: one the scenario has met, or one
// that exists in Clerk already, whose details are invented. A deleted
// organization is an error: Clerk sends nothing more about it.
func (p *planner) subjectOrg(st *compiledStep) (*fake.Org, error) {
	id, err := p.eval(st.org)
	if err != nil {
		return nil, fmt.Errorf("org: %w", err)
	}
	o, ok := p.orgByID[id]
	if !ok {
		if err := anOrg.checkID(id); err != nil {
			return nil, fmt.Errorf("org: %w", err)
		}
		o = p.opts.Gen.OrgWithID(id)
		p.orgByID[id] = o
		p.orgs = append(p.orgs, o)
	}
	if o.Deleted {
		return nil, fmt.Errorf("org: %s", p.gone("organization", o.ID, o))
	}
	return o, nil
}

// subjectMember resolves the step's membership, which a step of the
// scenario must have made: a membership names its organization and its
// user, which an id alone does not say. A membership that is deleted, or
// whose organization or user is, is an error, except for its deletion,
// which Clerk may send after its organization's or user's.
func (p *planner) subjectMember(st *compiledStep) (*fake.Member, error) {
	id, err := p.eval(st.member)
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	m, ok := p.memberByID[id]
	if !ok {
		if err := aMembership.checkID(id); err != nil {
			return nil, fmt.Errorf("membership: %w", err)
		}
		return nil, fmt.Errorf("membership: no step made %s: make it with an organizationMembership.created step (left out of send, it stands for a membership that exists already)", id)
	}
	switch {
	case m.Deleted:
		return nil, fmt.Errorf("membership: %s", p.gone("membership", m.ID, m))
	case st.Event == clerk.MembershipDeleted:
	case m.Org.Deleted:
		return nil, fmt.Errorf("membership: %s; of its memberships, only organizationMembership.deleted may still come", p.gone("organization", m.Org.ID, m.Org))
	case m.User.Deleted:
		return nil, fmt.Errorf("membership: %s; of its memberships, only organizationMembership.deleted may still come", p.gone("user", m.User.ID, m.User))
	}
	return m, nil
}

// followOrg brings o in line with an event whose fields a step has set,
// so that the expected row is what the sync makes of the event. The
// picture holds the fields of the organization's row; metadata it holds
// empty.
func followOrg(o *fake.Org, ev fake.Event) error {
	change, err := anOrg.parseSet(ev, o.ID, ev.Type == clerk.OrganizationCreated)
	if err != nil {
		return err
	}
	o.ID = change.ID
	if change.Deleted {
		return nil
	}
	data := gjson.GetBytes(ev.Body, "data")
	for _, f := range []struct {
		path string
		to   *string
	}{{"name", &o.Name}, {"slug", &o.Slug}, {"image_url", &o.ImageURL}, {"created_by", &o.CreatedBy}} {
		v := data.Get(f.path)
		if v.Type != gjson.String {
			return fmt.Errorf("data.%s must stay a string: the expected row cannot follow %s", f.path, nonEmpty(v.Raw))
		}
		*f.to = v.Str
	}
	for _, path := range []string{"public_metadata", "private_metadata"} {
		if v := data.Get(path); !v.IsObject() || len(v.Map()) > 0 {
			return fmt.Errorf("data.%s must stay {}: the expected row cannot follow %s", path, nonEmpty(v.Raw))
		}
	}
	o.CreatedAt, o.UpdatedAt = change.CreatedAt.UnixMilli(), change.UpdatedAt.UnixMilli()
	return nil
}

// followMember is followOrg for a membership: its id, role and times
// follow; its organization and user stay the step's.
func followMember(m *fake.Member, ev fake.Event) error {
	change, err := aMembership.parseSet(ev, m.ID, ev.Type == clerk.MembershipCreated)
	if err != nil {
		return err
	}
	if org := change.Parents[0].ID; org != m.Org.ID {
		return fmt.Errorf("data.organization.id %q is not the step's organization %s: choose it with \"org\"", org, m.Org.ID)
	}
	if user := change.UserID(); user != m.User.ID {
		return fmt.Errorf("data.public_user_data.user_id %q is not the step's user %s: choose it with \"user\"", user, m.User.ID)
	}
	m.ID = change.ID
	if change.Deleted {
		return nil
	}
	switch role := gjson.GetBytes(ev.Body, "data.role").Str; role {
	case "org:admin", "org:member":
		m.Role = role
	default:
		return errors.New(`data.role must be "org:admin" or "org:member", the roles whose rows the engine knows`)
	}
	m.CreatedAt, m.UpdatedAt = change.CreatedAt.UnixMilli(), change.UpdatedAt.UnixMilli()
	return nil
}

// nonEmpty shows a JSON value in a message, "nothing" when it is absent.
func nonEmpty(raw string) string {
	if raw == "" {
		return "nothing"
	}
	return raw
}

// copyOf copies an organization or a membership, so that later events do
// not change the copy; a membership's copy shares its organization and
// user.
func copyOf[T fake.Org | fake.Member](x *T) *T {
	c := *x
	return &c
}
