package check

import (
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// The tables that the organization cases judge, beside the users'.
var (
	orgTables          = []store.Kind{store.KindOrganization}
	memberTables       = []store.Kind{store.KindMembership}
	orgAndMemberTables = []store.Kind{store.KindOrganization, store.KindMembership}
)

// orgFinal is what the organizations table must hold for o once all its
// events are in.
func orgFinal(o *fake.Org) Want {
	return Want{Kind: store.KindOrganization, ID: o.ID, Row: o.Row(), Deleted: o.Deleted}
}

// memberFinal is what the memberships table must hold for m once all its
// events are in: no row when Clerk deleted it or its organization.
func memberFinal(m *fake.Member) Want {
	w := Want{Kind: store.KindMembership, ID: m.ID, Row: m.Row()}
	w.Deleted = w.Row == nil
	if m.Org.Deleted && !m.Deleted {
		w.Why = "Clerk deleted its organization (and need not send an organizationMembership.deleted)"
	}
	return w
}

func orgLifecycle(g *fake.Generator) Plan {
	a, b := g.NewOrg(nil), g.NewOrg(nil)
	return Plan{
		Waves: seq(
			step(g, g.OrgCreated(a), "organization.created of the first organization"),
			step(g, g.OrgCreated(b), "organization.created of the second organization"),
			step(g, g.OrgUpdated(a), "the first organization's organization.updated"),
			step(g, g.OrgUpdated(b), "the second organization's organization.updated"),
			step(g, g.OrgUpdated(a), "the first organization's second organization.updated"),
			step(g, g.OrgDeleted(a), "the first organization's organization.deleted"),
		),
		Wants: []Want{orgFinal(a), orgFinal(b)},
		Orgs:  []*fake.Org{a, b},
	}
}

func membershipBeforeOrg(g *fake.Generator) Plan {
	u := newUser(g)
	o := g.NewOrg(u)
	m := g.NewMember(o, u)
	return Plan{
		Waves: seq(
			step(g, g.MemberCreated(m), "the organizationMembership.created that arrived before its organization.created and user.created"),
			step(g, g.OrgCreated(o), "organization.created"),
			step(g, g.Created(u), "the member's user.created"),
		),
		Wants:   []Want{memberFinal(m), orgFinal(o)},
		Cleanup: []*fake.User{u},
		Orgs:    []*fake.Org{o},
		Members: []*fake.Member{m},
	}
}

func orgDeletedWithMembers(g *fake.Generator) Plan {
	a, b := newUser(g), newUser(g)
	o := g.NewOrg(a)
	ma, mb := g.NewMember(o, a), g.NewMember(o, b)
	createdA, createdB := g.MemberCreated(ma), g.MemberCreated(mb)
	late := g.MemberUpdated(mb) // made before the deletion, delivered after it
	return Plan{
		Waves: seq(
			step(g, g.Created(a), "user.created of the first member"),
			step(g, g.Created(b), "user.created of the second member"),
			step(g, g.OrgCreated(o), "organization.created"),
			step(g, createdA, "organizationMembership.created of the first member"),
			step(g, createdB, "organizationMembership.created of the second member"),
			step(g, g.OrgDeleted(o), "organization.deleted, with no organizationMembership.deleted"),
			step(g, late, "the second member's organizationMembership.updated delivered after organization.deleted"),
		),
		Wants:   []Want{orgFinal(o), memberFinal(ma), memberFinal(mb)},
		Cleanup: []*fake.User{a, b},
		Orgs:    []*fake.Org{o},
		Members: []*fake.Member{ma, mb},
	}
}

func roleChangeOutOfOrder(g *fake.Generator) Plan {
	u := newUser(g)
	o := g.NewOrg(u)
	m := g.NewMember(o, u)
	created := g.MemberCreated(m)
	older := g.MemberUpdated(m) // to org:admin
	// A custom role, so that the newest role is neither the first nor
	// the older update's.
	newer := g.MemberUpdated(m)
	m.Role = "org:billing_manager"
	setString(&newer, nil, "role", m.Role)
	setString(&newer, nil, "role_name", "Billing manager")
	want := memberFinal(m)
	want.Row.Other["role_name"] = "Billing manager"
	return Plan{
		Waves: seq(
			step(g, g.Created(u), "the member's user.created"),
			step(g, g.OrgCreated(o), "organization.created"),
			step(g, created, "organizationMembership.created"),
			step(g, newer, "the newer organizationMembership.updated (to org:billing_manager)"),
			step(g, older, "the older organizationMembership.updated (to org:admin), delivered last"),
		),
		Wants:   []Want{want},
		Cleanup: []*fake.User{u},
		Orgs:    []*fake.Org{o},
		Members: []*fake.Member{m},
	}
}
