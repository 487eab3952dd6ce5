package main

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// workload is the generated stream: unique events with their svix ids, the
// order in which to send them (duplicates included), and the rows they
// must leave behind.
type workload struct {
	events []fake.Event
	ids    []string     // svix-id of events[i]
	order  []int        // indexes into events, shuffled; a repeated index is a duplicate
	users  []*fake.User // as their events leave them
	orgs   []*fake.Org
	member []*fake.Member

	created, updated, deleted, dups int
}

// genStart is when the generated users begin; the svix timestamps, which
// the receiver checks, are set when signing.
var genStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// generate makes deliveries requests for users users: every user is
// created, deleteFrac of the unique deliveries delete one (at most every
// user), the rest update random users, and dupFrac of deliveries repeat a
// random earlier one.
func generate(seed uint64, deliveries, users int, dupFrac, deleteFrac float64, emailRequired bool) (*workload, error) {
	unique := int(math.Round(float64(deliveries) * (1 - dupFrac)))
	w := &workload{
		dups:    deliveries - unique,
		created: users,
		deleted: min(users, int(math.Round(float64(unique)*deleteFrac))),
	}
	w.updated = unique - w.created - w.deleted
	if users < 1 || w.updated < 0 {
		return nil, fmt.Errorf("generate workload: %d users need %d creates and %d deletes, more than %d unique deliveries",
			users, w.created, w.deleted, unique)
	}
	rng := mrand.New(mrand.NewPCG(seed, seed))
	updates := make([]int, users)
	for range w.updated {
		updates[rng.IntN(users)]++
	}
	gone := make([]bool, users)
	for _, i := range rng.Perm(users)[:w.deleted] {
		gone[i] = true
	}
	g := fake.New(seed, genStart)
	g.EmailRequired = emailRequired
	for i := range users {
		// Lifecycle keeps each user's events in time order, so updated_at
		// increases and the last event decides the row.
		u, evs := g.Lifecycle(updates[i], gone[i])
		for _, ev := range evs {
			w.events = append(w.events, ev)
			w.ids = append(w.ids, g.ID("msg"))
		}
		w.users = append(w.users, u)
	}
	w.order = make([]int, 0, deliveries)
	for i := range w.events {
		w.order = append(w.order, i)
	}
	for range w.dups {
		w.order = append(w.order, rng.IntN(len(w.events)))
	}
	rng.Shuffle(len(w.order), func(i, j int) { w.order[i], w.order[j] = w.order[j], w.order[i] })
	return w, nil
}

// mix describes the realised share of each kind of delivery.
func (w *workload) mix() string {
	total := float64(len(w.order))
	pct := func(n int) float64 { return 100 * float64(n) / total }
	return fmt.Sprintf("%d deliveries for %d users: created %.1f%%, updated %.1f%%, deleted %.1f%%, duplicates %.1f%% (of all deliveries; %d rows expected)",
		len(w.order), w.created, pct(w.created), pct(w.updated), pct(w.deleted), pct(w.dups), len(storetest.Rows(mapping.Default(), w.users...)))
}

// sign signs every unique event at now and returns the deliveries in send
// order. A duplicate shares its original's id, bytes and headers.
func (w *workload) sign(secret string, now time.Time) ([]fake.Delivery, error) {
	s, err := fake.NewSigner(secret)
	if err != nil {
		return nil, err
	}
	headers := make([]http.Header, len(w.events))
	for i, ev := range w.events {
		if headers[i], err = s.Sign(w.ids[i], now, ev.Body); err != nil {
			return nil, err
		}
	}
	ds := make([]fake.Delivery, len(w.order))
	for k, i := range w.order {
		ds[k] = fake.Delivery{ID: w.ids[i], Timestamp: now, Body: w.events[i].Body, Header: headers[i], Event: w.events[i]}
	}
	return ds, nil
}

// updateBody returns the body of one user.updated event, a realistic
// payload for the pgbench script.
func (w *workload) updateBody() []byte {
	for _, ev := range w.events {
		if ev.Type == clerk.UserUpdated {
			return ev.Body
		}
	}
	return w.events[0].Body
}

// addOrgs adds orgs organizations to the workload, each created, renamed
// once and one in ten deleted, with members memberships each (users drawn
// at random; each created and its role changed once), all shuffled into
// the stream. The memberships of deleted users and organizations must be
// gone at the end.
func (w *workload) addOrgs(seed uint64, orgs, members int) {
	if orgs == 0 {
		return
	}
	rng := mrand.New(mrand.NewPCG(seed, seed+1))
	g := fake.New(seed+1, genStart)
	var evs []fake.Event
	for i := range orgs {
		o := g.NewOrg(w.users[rng.IntN(len(w.users))])
		w.orgs = append(w.orgs, o)
		evs = append(evs, g.OrgCreated(o))
		for _, u := range rng.Perm(len(w.users))[:members] {
			m := g.NewMember(o, w.users[u])
			w.member = append(w.member, m)
			evs = append(evs, g.MemberCreated(m), g.MemberUpdated(m))
		}
		evs = append(evs, g.OrgUpdated(o))
		if i%10 == 9 {
			evs = append(evs, g.OrgDeleted(o))
		}
	}
	for _, ev := range evs {
		w.order = append(w.order, len(w.events))
		w.events = append(w.events, ev)
		w.ids = append(w.ids, g.ID("msg"))
	}
	rng.Shuffle(len(w.order), func(i, j int) { w.order[i], w.order[j] = w.order[j], w.order[i] })
}

// orgRows are the organizations' rows the workload must leave under m.
func (w *workload) orgRows(m mapping.Mapping) []store.User {
	return storetest.RowsOf(m, store.KindOrganization, w.orgs)
}

// memberRows are the memberships' rows the workload must leave under m.
func (w *workload) memberRows(m mapping.Mapping) []store.User {
	return storetest.RowsOf(m, store.KindMembership, w.member)
}
