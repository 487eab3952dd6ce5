package main

import (
	"context"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/fixtures"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// defaultTo is the local clerk-sync's webhook URL.
const defaultTo = "http://localhost:8080/api/webhooks/clerk"

type sendCmd struct {
	fireFlags
	user      string
	org       string
	count     int
	set       []string
	overrides []string
	data      string
	duplicate int
	shuffle   bool
}

func newSendCmd(stdout, stderr io.Writer) *cobra.Command {
	var c sendCmd
	cmd := &cobra.Command{
		Use:   "send <event-type>",
		Short: "Sign a fixture event and POST it, like stripe trigger",
		Long: `send builds an event from its fixture (mockclerk fixtures lists them), fills in
fresh ids, times and names, signs it with the local secret and POSTs it to --to,
printing a line per attempt and a summary. It exits 1 if any delivery ends
without a 2xx answer.

user.updated and user.deleted act on --user, or else on the last user that
mockclerk created on this machine. organization.updated and organization.deleted
act on --org, or else on the last organization it created; a membership event is
about --org (or the last organization) and --user (or the last user; a new one
when there is none), and organizationMembership.updated / .deleted act on the
last membership it created when no flag names another. The hard cases a receiver must survive are
flags: --duplicate, --shuffle, --tamper, --stale, --headers, --no-sign, --retry.
--profile (or MOCKCLERK_PROFILE) matches the users it invents to your Clerk
instance's sign-up settings. Events are generated as they are sent, so a
large --count runs in little memory.`,
		Example: `  mockclerk send user.created
  mockclerk send user.updated --set first_name=Ada --set public_metadata='{"plan":"pro"}'
  mockclerk send user.deleted --user user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C
  mockclerk send organization.created
  mockclerk send organizationMembership.created --set role=org:admin   # the last user joins the last organization
  mockclerk send organizationMembership.created --org org_2pQmE5n2Rb8Wc1Yt4Kd7Hs0Lx3V --user user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C
  mockclerk send organization.deleted --org org_2pQmE5n2Rb8Wc1Yt4Kd7Hs0Lx3V
  mockclerk send user.created --count 100 --duplicate 2 --shuffle --concurrency 8
  mockclerk send user.created --tamper body            # expect 400 bad-signature
  mockclerk send user.created --stale 6m               # expect 400 too-old
  mockclerk send user.created --retry fast             # keep trying while the receiver is down
  mockclerk send user.created --count 20000 --concurrency 16 --output ndjson > results.ndjson
  mockclerk send user.created --count 50 --profile email-required   # every user has a primary email
  MOCKCLERK_PROFILE=phone-only mockclerk send user.created          # a user with a phone number, no email`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.run(cmd.Context(), args[0], stdout, stderr)
		},
	}
	fl := cmd.Flags()
	c.register(fl, 1)
	fl.StringVar(&c.user, "user", "", "user id for user.updated / user.deleted and membership events (default: the last user created)")
	fl.StringVar(&c.org, "org", "", "organization id for organization.* and membership events (default: the last organization created)")
	fl.IntVar(&c.count, "count", 1, "how many events to send")
	fl.StringArrayVar(&c.set, "set", nil, "override a field of data: path=value (gjson path; repeatable)")
	fl.StringArrayVar(&c.overrides, "override", nil, "same as --set")
	fl.StringVar(&c.data, "data", "", "the whole data object, as @file.json or inline JSON")
	fl.IntVar(&c.duplicate, "duplicate", 0, "send each delivery N more times (same svix-id and bytes)")
	fl.BoolVar(&c.shuffle, "shuffle", false, "send in random order (mixed within each 10,000 deliveries)")
	return cmd
}

// shuffleWindow is how many deliveries --shuffle mixes at a time: a run
// of up to this many is shuffled whole, a longer one within the window, so
// that a large --count is still generated as it is sent.
const shuffleWindow = 10_000

func (c *sendCmd) run(ctx context.Context, eventType string, stdout, stderr io.Writer) error {
	if !slices.Contains(fixtures.Types(), eventType) {
		return usageError("unknown event type %q; known: %s", eventType, strings.Join(fixtures.Types(), ", "))
	}
	if c.count < 1 || c.duplicate < 0 {
		return usageError("--count must be at least 1 and --duplicate at least 0")
	}
	env, err := c.env()
	if err != nil {
		return err
	}
	dv, rate, err := c.deliverer(env)
	if err != nil {
		return err
	}
	statePath, err := fake.StatePath()
	if err != nil {
		return err
	}
	src := &source{g: c.generator(uint64(time.Now().UnixNano())), eventType: eventType, sets: append(c.set, c.overrides...)}
	kind, _, _ := clerk.KindOf(eventType)
	if eventType == clerk.UserUpdated || eventType == clerk.UserDeleted {
		if src.user, err = c.targetUser(src.g, statePath); err != nil {
			return err
		}
	}
	if kind == store.KindOrganization || kind == store.KindMembership {
		if err := c.targetOrg(src, statePath); err != nil {
			return err
		}
	}
	if c.data != "" {
		if src.data, err = readArg(c.data); err != nil {
			return err
		}
		if !gjson.ValidBytes(src.data) || !gjson.ParseBytes(src.data).IsObject() {
			return usageError("--data: not a JSON object")
		}
	}
	// The first delivery is made before anything is sent: a --set or
	// --data that breaks it would break every one.
	first, err := src.next()
	if err != nil {
		return err
	}
	var genErr error
	deliveries := c.stream(src, first, &genErr)
	if c.shuffle {
		deliveries = load.Shuffle(deliveries, shuffleWindow, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	}
	fireErr := c.fire(ctx, dv, rate, deliveries, stdout, stderr)
	if src.user != nil && kind == store.KindUser {
		if err := fake.SaveUser(statePath, src.user); err != nil {
			fmt.Fprintf(stderr, "mockclerk: could not remember user %s: %v\n", src.user.ID, err)
		}
	}
	if src.orgs.Org != nil {
		if err := fake.SaveOrgs(statePath, src.orgs); err != nil {
			fmt.Fprintf(stderr, "mockclerk: could not remember organization %s: %v\n", src.orgs.Org.ID, err)
		}
	}
	if genErr != nil {
		return genErr
	}
	return fireErr
}

// stream yields first and the rest of --count from src as they are made,
// each 1+--duplicate times. It ends early at an error of src, which it
// leaves in *errp.
func (c *sendCmd) stream(src *source, first fake.Delivery, errp *error) iter.Seq[fake.Delivery] {
	return func(yield func(fake.Delivery) bool) {
		d := first
		for i := 1; ; i++ {
			for range 1 + c.duplicate {
				if !yield(d) {
					return
				}
			}
			if i == c.count {
				return
			}
			if d, *errp = src.next(); *errp != nil {
				return
			}
		}
	}
}

// source makes the deliveries of one send, one at a time.
type source struct {
	g         *fake.Generator
	eventType string
	user      *fake.User    // the user acted on; after user.created, the last one made
	orgs      fake.OrgState // the organization and membership acted on
	newUsers  bool          // a membership.created without a user invents one each time
	data      []byte        // --data
	sets      []string      // --set and --override
}

func (s *source) next() (fake.Delivery, error) {
	ev, u, err := s.event()
	if err != nil {
		return fake.Delivery{}, err
	}
	if s.eventType == clerk.UserCreated {
		s.user = u
	}
	if s.data != nil {
		if ev.Body, err = sjson.SetRawBytes(ev.Body, "data", s.data); err != nil {
			return fake.Delivery{}, usageError("--data: %v", err)
		}
		ev.UserID = gjson.GetBytes(s.data, "id").String()
	}
	if ev.Body, err = override(ev.Body, s.sets); err != nil {
		return fake.Delivery{}, usageError("%v", err)
	}
	if id := gjson.GetBytes(ev.Body, "data.id"); id.Exists() && clerk.IsUserEvent(s.eventType) {
		ev.UserID = id.String()
	}
	// What --set changed is what the next event starts from.
	if m := s.orgs.Member; m != nil && (s.eventType == clerk.MembershipCreated || s.eventType == clerk.MembershipUpdated) {
		m.ID, m.Role = gjson.GetBytes(ev.Body, "data.id").String(), gjson.GetBytes(ev.Body, "data.role").String()
	}
	if o := s.orgs.Org; o != nil && (s.eventType == clerk.OrganizationCreated || s.eventType == clerk.OrganizationUpdated) {
		o.ID, o.Name = gjson.GetBytes(ev.Body, "data.id").String(), gjson.GetBytes(ev.Body, "data.name").String()
	}
	return s.g.Unsigned(ev), nil
}

// event makes the next event of the send's type.
func (s *source) event() (fake.Event, *fake.User, error) {
	g, o := s.g, s.orgs.Org
	switch s.eventType {
	case clerk.OrganizationCreated:
		s.orgs = fake.OrgState{Org: g.NewOrg(s.user)}
		return g.OrgCreated(s.orgs.Org), s.user, nil
	case clerk.OrganizationUpdated:
		return g.OrgUpdated(o), s.user, nil
	case clerk.OrganizationDeleted:
		return g.OrgDeleted(o), s.user, nil
	case clerk.MembershipCreated:
		if s.user == nil || s.newUsers {
			s.user, s.newUsers = g.NewUser(), true
		}
		s.orgs.Member = g.NewMember(o, s.user)
		return g.MemberCreated(s.orgs.Member), s.user, nil
	case clerk.MembershipUpdated:
		return g.MemberUpdated(s.orgs.Member), s.user, nil
	case clerk.MembershipDeleted:
		return g.MemberDeleted(s.orgs.Member), s.user, nil
	}
	return g.Event(s.eventType, s.user)
}

// targetOrg sets the organization (and, for a membership's update or
// deletion, the membership) that the send's events are about: --org and
// --user, else what mockclerk remembers.
func (c *sendCmd) targetOrg(src *source, statePath string) error {
	last, err := fake.LoadOrgs(statePath)
	if err != nil {
		return err
	}
	g := src.g
	switch {
	case src.eventType == clerk.OrganizationCreated:
		if c.org != "" {
			return usageError("--org names an organization to act on; organization.created makes a new one (set its id with --set id=org_…)")
		}
		if src.user, err = fake.LoadUser(statePath); err != nil { // the creator, when known
			return err
		}
		if c.user != "" {
			src.user = g.UserWithID(c.user)
		}
		return nil
	case c.org != "" && last.Org != nil && last.Org.ID == c.org:
		src.orgs.Org = last.Org
	case c.org != "":
		src.orgs.Org = g.OrgWithID(c.org) // one this machine has not seen
	case last.Org == nil:
		return usageError("no organization to act on: pass --org, or run `mockclerk send organization.created` first")
	default:
		src.orgs.Org = last.Org
	}
	if m := last.Member; m != nil && m.Org.ID == src.orgs.Org.ID {
		src.orgs.Member = m // remembered through the organization's own events
	}
	if src.eventType != clerk.MembershipCreated && src.eventType != clerk.MembershipUpdated && src.eventType != clerk.MembershipDeleted {
		return nil
	}
	lastUser, err := fake.LoadUser(statePath)
	if err != nil {
		return err
	}
	switch {
	case c.user != "" && lastUser != nil && lastUser.ID == c.user:
		src.user = lastUser
	case c.user != "":
		src.user = g.UserWithID(c.user)
	default:
		src.user = lastUser
	}
	if src.eventType == clerk.MembershipCreated {
		return nil
	}
	m := last.Member
	switch {
	case m != nil && m.Org.ID == src.orgs.Org.ID && (src.user == nil || c.user == "" || m.User.ID == src.user.ID):
		m.Org = src.orgs.Org
	case src.user != nil:
		m = g.NewMember(src.orgs.Org, src.user) // one this machine has not seen: --set id=orgmem_… names it
	default:
		return usageError("no membership to act on: pass --user (and --org), or run `mockclerk send organizationMembership.created` first")
	}
	src.orgs.Member, src.user = m, m.User
	return nil
}

// targetUser is the user that an update or delete acts on.
func (c *sendCmd) targetUser(g *fake.Generator, statePath string) (*fake.User, error) {
	last, err := fake.LoadUser(statePath)
	if err != nil {
		return nil, err
	}
	switch {
	case c.user != "" && last != nil && last.ID == c.user:
	case c.user != "":
		// A user this machine has not seen: invent the rest of it.
		last = g.UserWithID(c.user)
	case last == nil:
		return nil, usageError("no user to act on: pass --user, or run `mockclerk send user.created` first")
	}
	return last, nil
}

// override applies path=value pairs to the event's data.
func override(body []byte, sets []string) ([]byte, error) {
	for _, kv := range sets {
		path, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want path=value", kv)
		}
		var err error
		if body, err = fake.Override(body, path, value); err != nil {
			return nil, fmt.Errorf("--set %q: %w", kv, err)
		}
	}
	return body, nil
}

func clock() string { return time.Now().Format("15:04:05") }

// runFailed is returned after the summary of a run with failed deliveries.
type runFailed struct{ failed int }

func (e *runFailed) Error() string { return fmt.Sprintf("%d deliveries failed", e.failed) }
