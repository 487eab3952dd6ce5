package fake

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// Generated times keep up with the wall clock instead of running ahead of
// it: only a user's own events in the same millisecond push its clock
// forward, 1 ms each. A later run's update of the same user is newer.
func TestClockStaysWithTheWallClock(t *testing.T) {
	g := New(21, time.Now())
	rng := rand.New(rand.NewPCG(1, 2))
	var users []*User
	var latest int64
	for i := range 5000 {
		var ev Event
		switch {
		case i%4 == 0 || len(users) == 0:
			u := g.NewUser()
			users = append(users, u)
			ev = g.Created(u)
		case i%50 == 1:
			ev = g.Other("session.created", nil)
		default:
			ev = g.Updated(users[rng.IntN(len(users))])
		}
		latest = max(latest, gjson.GetBytes(ev.Body, "data.updated_at").Int(), gjson.GetBytes(ev.Body, "data.created_at").Int())
	}
	if ahead := time.Duration(latest-time.Now().UnixMilli()) * time.Millisecond; ahead > time.Second {
		t.Errorf("after 5,000 events the latest time is %s ahead of the wall clock", ahead)
	}

	u := users[0]
	before := u.UpdatedAt
	for range 500 {
		prev := u.UpdatedAt
		if g.Updated(u); u.UpdatedAt <= prev {
			t.Fatalf("update at %d is not after %d", u.UpdatedAt, prev)
		}
	}
	if ahead := time.Duration(u.UpdatedAt-max(before, time.Now().UnixMilli())) * time.Millisecond; ahead > time.Second {
		t.Errorf("500 updates of one user ran %s ahead", ahead)
	}
	later := New(22, time.Now()) // the next `mockclerk send user.updated`
	prev := u.UpdatedAt
	if later.Updated(u); u.UpdatedAt <= prev {
		t.Errorf("a later run's update at %d is not after %d", u.UpdatedAt, prev)
	}
}

// However often a user changes, its body stays the size of Clerk's: a
// new email replaces the oldest beyond a few.
func TestBodySizeStaysBounded(t *testing.T) {
	g := New(8, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	u := g.NewUser()
	first := len(g.Created(u).Body)
	largest := 0
	for range 2000 {
		ev := g.Updated(u)
		largest = max(largest, len(ev.Body))
		if len(u.Emails) > maxEmails {
			t.Fatalf("%d emails", len(u.Emails))
		}
	}
	if largest > first+4096 {
		t.Errorf("bodies grew from %d to %d bytes", first, largest)
	}
	if row := u.Row(); row.Email == nil || *row.Email != u.Emails[len(u.Emails)-1].Address {
		t.Errorf("the primary email is not the newest address: %v, %+v", row.Email, u.Emails)
	}
}

// Each profile makes the users its Clerk setting allows, through their
// updates too.
func TestProfiles(t *testing.T) {
	for _, tc := range []struct {
		profile               Profile
		wantEmail, wantNoMail bool // some users with, some without an email
	}{
		{ProfileMixed, true, true},
		{"", true, true},
		{ProfileEmailRequired, true, false},
		{ProfilePhoneOnly, false, true},
	} {
		t.Run(string(tc.profile), func(t *testing.T) {
			g := New(4, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
			g.Profile = tc.profile
			withEmail, without := 0, 0
			for range 100 {
				u := g.NewUser()
				for i := range 6 {
					if i > 0 {
						g.Updated(u)
					}
					row := u.Row()
					switch {
					case row.Email != nil:
						withEmail++
					case tc.profile == ProfilePhoneOnly && row.Other["phone"] == "":
						t.Fatalf("phone-only user %s has no phone", u.ID)
					default:
						without++
					}
				}
			}
			if (withEmail > 0) != tc.wantEmail || (without > 0) != tc.wantNoMail {
				t.Errorf("%d states with an email, %d without", withEmail, without)
			}
		})
	}
}

func TestProfileSet(t *testing.T) {
	var p Profile
	if p.String() != "mixed" {
		t.Errorf("zero profile %q", p.String())
	}
	if err := p.Set("phone-only"); err != nil || p != ProfilePhoneOnly {
		t.Errorf("Set phone-only: %v, %q", err, p)
	}
	if err := p.Set("email"); err == nil || p != ProfilePhoneOnly {
		t.Errorf("Set email: %v, %q", err, p)
	}
}

// splice puts each value at its path in one copy of the fixture, adds a
// path the fixture lacks, and leaves the fixture as it was.
func TestSplice(t *testing.T) {
	g := New(1, time.Now())
	body := g.splice("user.created", []edit{
		{"data.first_name", rawJSON(`Zoë "Z" \ O'Neil`)},
		{"data.id", rawJSON("user_2x")},
		{"data.not_in_the_fixture", rawJSON(int64(7))},
		{"timestamp", rawJSON(int64(1))},
	})
	if !gjson.ValidBytes(body) {
		t.Fatalf("not JSON: %s", body)
	}
	for path, want := range map[string]string{"data.first_name": `Zoë "Z" \ O'Neil`, "data.id": "user_2x", "data.not_in_the_fixture": "7", "timestamp": "1"} {
		if got := gjson.GetBytes(body, path).String(); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if again := g.splice("user.created", nil); gjson.GetBytes(again, "data.id").String() == "user_2x" {
		t.Error("splice changed the fixture")
	}
}

// A clone keeps the user as it was: events about the original change
// neither the clone's emails nor its primary email.
func TestCloneIsIndependent(t *testing.T) {
	g := New(3, time.Now())
	g.Profile = ProfileEmailRequired
	u := g.NewUser()
	c := u.Clone()
	u.Emails[0].Address = "changed@example.com"
	*u.PrimaryID = "idn_changed"
	g.Updated(u)
	if c.Emails[0].Address == "changed@example.com" || *c.PrimaryID == "idn_changed" || c.UpdatedAt == u.UpdatedAt {
		t.Fatalf("the clone followed the original: %+v", c)
	}
}

// An update switches a member to admin and an admin to member; a custom
// role becomes admin, never an empty role (mockclerk send keeps a role set
// with --set role=… for the next organizationMembership.updated).
func TestMemberUpdatedRoles(t *testing.T) {
	g := New(1, time.Now())
	m := g.NewMember(g.NewOrg(nil), g.NewUser())
	for _, tc := range []struct{ from, to string }{
		{"org:member", "org:admin"}, {"org:admin", "org:member"}, {"org:billing_manager", "org:admin"},
	} {
		m.Role = tc.from
		ev := g.MemberUpdated(m)
		if got := gjson.GetBytes(ev.Body, "data.role").String(); m.Role != tc.to || got != tc.to {
			t.Errorf("from %s: role %q, body's %q; want %s", tc.from, m.Role, got, tc.to)
		}
	}
}
