package fake

import (
	"strings"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Org is the generator's picture of one Clerk organization; each event it
// emits moves the picture forward.
type Org struct {
	ID        string
	Name      string
	Slug      string
	ImageURL  string
	CreatedBy string // a user id
	CreatedAt int64  // Unix ms
	UpdatedAt int64  // Unix ms
	Updates   int
	Deleted   bool
	DeletedAt int64 // the envelope timestamp of organization.deleted, in Unix ms
}

// Member is the generator's picture of one organization membership.
type Member struct {
	ID        string
	Org       *Org
	User      *User
	Role      string // org:admin or org:member
	CreatedAt int64  // Unix ms
	UpdatedAt int64  // Unix ms
	Deleted   bool
	DeletedAt int64
}

// NewOrg invents an organization created by the user creator (nil: by
// nobody the test knows).
func (g *Generator) NewOrg(creator *User) *Org {
	now := g.tick()
	name := g.f.Company()
	o := &Org{
		ID: g.ID("org"), Name: name, ImageURL: "https://img.clerk.com/" + g.f.LetterN(40),
		CreatedAt: now, UpdatedAt: now,
	}
	o.Slug = strings.Trim(strings.ToLower(strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '-'
	}, name)), "-") + "-" + strings.ToLower(g.f.LetterN(4))
	o.CreatedBy = g.ID("user")
	if creator != nil {
		o.CreatedBy = creator.ID
	}
	return o
}

// OrgWithID invents the rest of an organization known only by its id.
func (g *Generator) OrgWithID(id string) *Org {
	o := g.NewOrg(nil)
	o.ID = id
	return o
}

// orgTick is the time of o's next event, after every event of o so far.
func (g *Generator) orgTick(o *Org) int64 {
	return g.tickAfter(o.CreatedAt, o.UpdatedAt, o.DeletedAt)
}

// OrgCreated returns the organization.created event of o.
func (g *Generator) OrgCreated(o *Org) Event {
	return g.orgEvent(clerk.OrganizationCreated, o, o.CreatedAt)
}

// OrgUpdated renames o and returns the organization.updated event.
func (g *Generator) OrgUpdated(o *Org) Event {
	o.UpdatedAt = g.orgTick(o)
	o.Updates++
	o.Name = strings.TrimSuffix(o.Name, " Labs") + " Labs"
	if o.Updates%2 == 0 {
		o.Name = g.f.Company()
	}
	return g.orgEvent(clerk.OrganizationUpdated, o, o.UpdatedAt)
}

// OrgDeleted marks o deleted and returns the organization.deleted event,
// which carries only the id and slug.
func (g *Generator) OrgDeleted(o *Org) Event {
	o.Deleted, o.DeletedAt = true, g.orgTick(o)
	body := g.fixture(clerk.OrganizationDeleted)
	body = set(body, "data.id", o.ID)
	body = set(body, "data.slug", o.Slug)
	body = set(body, "timestamp", o.DeletedAt)
	return Event{Type: clerk.OrganizationDeleted, Body: body}
}

func (g *Generator) orgEvent(eventType string, o *Org, at int64) Event {
	body := g.splice(eventType, []edit{
		{"data.id", rawJSON(o.ID)},
		{"data.name", rawJSON(o.Name)},
		{"data.slug", rawJSON(o.Slug)},
		{"data.image_url", rawJSON(o.ImageURL)},
		{"data.created_by", rawJSON(o.CreatedBy)},
		{"data.created_at", rawJSON(o.CreatedAt)},
		{"data.updated_at", rawJSON(o.UpdatedAt)},
		{"data.public_metadata", []byte(`{}`)},
		{"data.private_metadata", []byte(`{}`)},
		{"timestamp", rawJSON(at + int64(g.f.IntN(50)))},
	})
	return Event{Type: eventType, Body: body}
}

// Row is the organizations-table row that o's events should leave behind
// (every field in Other, by Clerk field name), or nil when o is deleted.
func (o *Org) Row() *store.User {
	if o.Deleted {
		return nil
	}
	row := &store.User{
		ID: o.ID, ClerkID: o.ID,
		CreatedAt: time.UnixMilli(o.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(o.UpdatedAt).UTC(),
	}
	// Set puts each field where a row read back from a table has it.
	for field, text := range map[string]string{
		"name": o.Name, "slug": o.Slug, "image_url": o.ImageURL, "created_by": o.CreatedBy,
		"public_metadata": "{}", "private_metadata": "{}", "admin_delete_enabled": "true",
	} {
		row.Set(field, text)
	}
	return row
}

// NewMember invents u's membership of o, as a member.
func (g *Generator) NewMember(o *Org, u *User) *Member {
	now := g.tick()
	return &Member{ID: g.ID("orgmem"), Org: o, User: u, Role: "org:member", CreatedAt: now, UpdatedAt: now}
}

// memberTick is the time of m's next event, after every event of m so far.
func (g *Generator) memberTick(m *Member) int64 {
	return g.tickAfter(m.CreatedAt, m.UpdatedAt, m.DeletedAt)
}

// roleNames are the names Clerk gives the default roles; a custom role's
// is empty here.
var roleNames = map[string]string{"org:admin": "Admin", "org:member": "Member"}

// permissions are every generated membership's.
const permissions = `["org:posts:read","org:posts:write"]`

// MemberCreated returns the organizationMembership.created event of m.
func (g *Generator) MemberCreated(m *Member) Event {
	return g.memberEvent(clerk.MembershipCreated, m, m.CreatedAt)
}

// MemberUpdated makes m an admin, or a member if it was an admin, and
// returns the organizationMembership.updated event. A custom role (say
// org:billing_manager, set with mockclerk's --set) becomes admin.
func (g *Generator) MemberUpdated(m *Member) Event {
	m.UpdatedAt = g.memberTick(m)
	if m.Role == "org:admin" {
		m.Role = "org:member"
	} else {
		m.Role = "org:admin"
	}
	return g.memberEvent(clerk.MembershipUpdated, m, m.UpdatedAt)
}

// MemberDeleted marks m deleted and returns the
// organizationMembership.deleted event, which carries the whole
// membership.
func (g *Generator) MemberDeleted(m *Member) Event {
	m.Deleted, m.DeletedAt = true, g.memberTick(m)
	return g.memberEvent(clerk.MembershipDeleted, m, m.DeletedAt)
}

func (g *Generator) memberEvent(eventType string, m *Member, at int64) Event {
	identifier := ""
	if len(m.User.Emails) > 0 {
		identifier = m.User.Emails[len(m.User.Emails)-1].Address
	} else if m.User.Phone != nil {
		identifier = *m.User.Phone
	}
	o := m.Org
	body := g.splice(eventType, []edit{
		{"data.id", rawJSON(m.ID)},
		{"data.role", rawJSON(m.Role)},
		{"data.role_name", rawJSON(roleNames[m.Role])},
		{"data.permissions", []byte(permissions)},
		{"data.public_metadata", []byte(`{}`)},
		{"data.private_metadata", []byte(`{}`)},
		{"data.organization.id", rawJSON(o.ID)},
		{"data.organization.name", rawJSON(o.Name)},
		{"data.organization.slug", rawJSON(o.Slug)},
		{"data.organization.created_by", rawJSON(o.CreatedBy)},
		{"data.organization.created_at", rawJSON(o.CreatedAt)},
		{"data.organization.updated_at", rawJSON(o.UpdatedAt)},
		{"data.public_user_data.user_id", rawJSON(m.User.ID)},
		{"data.public_user_data.first_name", rawJSON(m.User.FirstName)},
		{"data.public_user_data.last_name", rawJSON(m.User.LastName)},
		{"data.public_user_data.identifier", rawJSON(identifier)},
		{"data.created_at", rawJSON(m.CreatedAt)},
		{"data.updated_at", rawJSON(m.UpdatedAt)},
		{"timestamp", rawJSON(at)},
	})
	return Event{Type: eventType, UserID: m.User.ID, Body: body}
}

// Row is the memberships-table row that m's events should leave behind,
// or nil when m, its organization or its user is deleted.
func (m *Member) Row() *store.User {
	if m.Deleted || m.Org.Deleted || m.User.Deleted {
		return nil
	}
	return &store.User{
		ID: m.ID, ClerkID: m.ID,
		CreatedAt: time.UnixMilli(m.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(m.UpdatedAt).UTC(),
		Other: map[string]string{
			"organization_id": m.Org.ID, "user_id": m.User.ID, "role": m.Role,
			"role_name":       roleNames[m.Role],
			"public_metadata": "{}", "private_metadata": "{}",
			"permissions": canonicalJSON(permissions),
		},
	}
}
