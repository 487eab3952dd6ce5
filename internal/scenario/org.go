package scenario

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// generateOrg makes an organization event: organization.created makes a
// new organization (created by the step's user, when it names one), the
// others act on the step's org.
func (p *planner) generateOrg(st *compiledStep, inst *instance) error {
	g := p.opts.Gen
	var o *fake.Org
	if st.Event == clerk.OrganizationCreated {
		var creator *fake.User
		if st.user != nil {
			var err error
			if creator, err = p.subjectUser(st, true); err != nil {
				return err
			}
		}
		o = g.NewOrg(creator)
		inst.ev = g.OrgCreated(o)
	} else {
		var err error
		if o, err = p.subjectOrg(st); err != nil {
			return err
		}
		if st.Event == clerk.OrganizationUpdated {
			inst.ev = g.OrgUpdated(o)
		} else {
			inst.ev = g.OrgDeleted(o)
		}
	}
	var err error
	if inst.ev, err = p.applySet(st, inst.ev); err != nil {
		return err
	}
	if len(st.set) > 0 {
		if err := followOrg(o, inst.ev); err != nil {
			return fmt.Errorf("set: %w", err)
		}
	}
	if st.Event == clerk.OrganizationCreated {
		if _, ok := p.orgByID[o.ID]; ok {
			return fmt.Errorf("set: another step of the scenario names organization %s already", o.ID)
		}
		p.orgByID[o.ID] = o
		p.orgs = append(p.orgs, o)
	}
	inst.org = seen[fake.Org]{o, snapshotOrg(o)}
	return p.moved(o, inst, o.UpdatedAt, o.Deleted)
}

// generateMember makes a membership event: organizationMembership.created
// makes the step's user a member of the step's org, the others act on the
// step's membership.
func (p *planner) generateMember(st *compiledStep, inst *instance) error {
	g := p.opts.Gen
	var m *fake.Member
	if st.Event == clerk.MembershipCreated {
		o, err := p.subjectOrg(st)
		if err != nil {
			return err
		}
		u, err := p.subjectUser(st, true)
		if err != nil {
			return err
		}
		m = g.NewMember(o, u)
		inst.ev = g.MemberCreated(m)
	} else {
		var err error
		if m, err = p.subjectMember(st); err != nil {
			return err
		}
		if st.Event == clerk.MembershipUpdated {
			inst.ev = g.MemberUpdated(m)
		} else {
			inst.ev = g.MemberDeleted(m)
		}
	}
	var err error
	if inst.ev, err = p.applySet(st, inst.ev); err != nil {
		return err
	}
	if len(st.set) > 0 {
		if err := followMember(m, inst.ev); err != nil {
			return fmt.Errorf("set: %w", err)
		}
	}
	if st.Event == clerk.MembershipCreated {
		if _, ok := p.memberByID[m.ID]; ok {
			return fmt.Errorf("set: another step of the scenario names membership %s already", m.ID)
		}
		p.memberByID[m.ID] = m
		p.members = append(p.members, m)
	}
	inst.member = seen[fake.Member]{m, snapshotMember(m)}
	return p.moved(m, inst, m.UpdatedAt, m.Deleted)
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
		if err := checkID(id, "org_", "an organization"); err != nil {
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
		if err := checkID(id, "orgmem_", "a membership"); err != nil {
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

// checkID accepts Clerk ids with prefix, such as org_… for an
// organization (what).
func checkID(id, prefix, what string) error {
	if !strings.HasPrefix(id, prefix) || len(id) == len(prefix) {
		return fmt.Errorf("%q is not %s id (%s…)", id, what, prefix)
	}
	return nil
}

// followOrg brings o in line with an event whose fields a step has set,
// so that the expected row is what the sync makes of the event. The
// picture holds the fields of the organization's row; metadata it holds
// empty.
func followOrg(o *fake.Org, ev fake.Event) error {
	_, change, err := clerk.Parse(ev.Body)
	if err != nil {
		return fmt.Errorf("the event no longer parses: %w", err)
	}
	if change.ID != o.ID && ev.Type != clerk.OrganizationCreated {
		return fmt.Errorf("data.id %q is not the step's organization %s: choose the organization with \"org\"", change.ID, o.ID)
	}
	if err := checkID(change.ID, "org_", "an organization"); err != nil {
		return fmt.Errorf("data.id: %w", err)
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
	_, change, err := clerk.Parse(ev.Body)
	if err != nil {
		return fmt.Errorf("the event no longer parses: %w", err)
	}
	if change.ID != m.ID && ev.Type != clerk.MembershipCreated {
		return fmt.Errorf("data.id %q is not the step's membership %s: choose the membership with \"membership\"", change.ID, m.ID)
	}
	if err := checkID(change.ID, "orgmem_", "a membership"); err != nil {
		return fmt.Errorf("data.id: %w", err)
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

// snapshotOrg copies o, so that later events do not change it.
func snapshotOrg(o *fake.Org) *fake.Org {
	c := *o
	return &c
}

// snapshotMember copies m, so that later events do not change it; it
// shares m's organization and user.
func snapshotMember(m *fake.Member) *fake.Member {
	c := *m
	return &c
}
