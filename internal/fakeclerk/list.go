package fakeclerk

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Query is what GET /v1/users and GET /v1/users/count are asked for.
type Query struct {
	Limit         int
	Offset        int
	OrderBy       string // created_at or updated_at
	Desc          bool
	StartingAfter string
	IDs           map[string]bool // user_id, or user_id with +: only these
	NotIDs        map[string]bool // user_id with -: not these
	Emails        map[string]bool // email_address, in lower case
}

// Clerk's orderings of users; the fake keeps an index for the first two.
var (
	indexedOrders = []string{"created_at", "updated_at"}
	otherOrders   = []string{"email_address", "web3wallet", "first_name", "last_name", "phone_number", "username", "last_active_at", "last_sign_in_at"}
	// otherFilters are filters Clerk takes that the fake does not
	// implement: it refuses them rather than answer unfiltered.
	otherFilters = []string{"phone_number", "external_id", "username", "web3_wallet", "organization_id", "query",
		"email_address_query", "phone_number_query", "username_query", "name_query", "banned",
		"last_active_at_before", "last_active_at_after", "last_active_at_since", "created_at_before", "created_at_after",
		"last_sign_in_at_before", "last_sign_in_at_after", "provider", "provider_user_id"}
)

// maxFilterValues is how many values Clerk takes for one filter.
const maxFilterValues = 100

// ParseQuery reads a listing's parameters as Clerk does, and refuses
// what Clerk refuses with its 422s.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Limit: 10, OrderBy: "created_at", Desc: true}
	var err error
	if q.Limit, err = intParam(v, "limit", 10, 1, 500); err != nil {
		return q, err
	}
	if q.Offset, err = intParam(v, "offset", 0, 0, int(^uint(0)>>1)); err != nil {
		return q, err
	}
	if err := q.parseOrder(v.Get("order_by")); err != nil {
		return q, err
	}
	for _, name := range otherFilters {
		if v.Has(name) || v.Has(name+"[]") {
			return q, unsupported(name)
		}
	}
	ids := values(v, "user_id")
	emails := values(v, "email_address")
	if len(ids) > maxFilterValues || len(emails) > maxFilterValues {
		return q, invalid("user_id", "Accepts up to %d values per filter.", maxFilterValues)
	}
	for _, id := range ids {
		// A + that was not percent-encoded arrives as a space.
		switch id = strings.TrimSpace(id); {
		case strings.HasPrefix(id, "-"):
			q.NotIDs = addTo(q.NotIDs, id[1:])
		default:
			q.IDs = addTo(q.IDs, strings.TrimPrefix(id, "+"))
		}
	}
	for _, e := range emails {
		q.Emails = addTo(q.Emails, strings.ToLower(strings.TrimSpace(e)))
	}
	if q.StartingAfter = v.Get("starting_after"); q.StartingAfter != "" {
		if q.OrderBy != "created_at" {
			return q, invalid("starting_after", "starting_after can only be used when ordering by created_at (order_by omitted, created_at, +created_at or -created_at).")
		}
		if q.Offset != 0 {
			return q, invalid("starting_after", "starting_after cannot be combined with a non-zero offset.")
		}
	}
	return q, nil
}

// parseOrder reads order_by: a field with an optional + or -, where no
// sign means +; an empty one is Clerk's default, newest first.
func (q *Query) parseOrder(s string) error {
	if s == "" {
		return nil
	}
	q.Desc = strings.HasPrefix(s, "-")
	// A + that was not percent-encoded arrives as a space.
	field := strings.TrimLeft(s, "+- ")
	switch {
	case slices.Contains(indexedOrders, field):
		q.OrderBy = field
		return nil
	case slices.Contains(otherOrders, field):
		return unsupported("order_by=" + field)
	}
	return invalid("order_by", "order_by must be one of created_at, updated_at, email_address, web3wallet, first_name, last_name, phone_number, username, last_active_at, last_sign_in_at, with an optional + or - prefix.")
}

func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		if hi == int(^uint(0)>>1) {
			return 0, invalid(name, "%s must be an integer of at least %d.", name, lo)
		}
		return 0, invalid(name, "%s must be an integer between %d and %d.", name, lo, hi)
	}
	return n, nil
}

// values are a repeated parameter's values, whether sent as name=a&name=b
// (clerk-sdk-go) or name[]=a&name[]=b.
func values(v url.Values, name string) []string {
	return append(append([]string(nil), v[name]...), v[name+"[]"]...)
}

func addTo(set map[string]bool, s string) map[string]bool {
	if set == nil {
		set = map[string]bool{}
	}
	set[s] = true
	return set
}

func (q Query) filtered() bool { return q.IDs != nil || q.NotIDs != nil || q.Emails != nil }

func (q Query) match(u *User) bool {
	return (q.IDs == nil || q.IDs[u.ID]) && !q.NotIDs[u.ID] && (q.Emails == nil || u.hasEmail(q.Emails))
}

// List returns a page of users, as GET /v1/users does.
func (in *Instance) List(q Query) ([]*User, error) {
	in.mu.RLock()
	defer in.mu.RUnlock()
	x := &in.created
	if q.OrderBy == "updated_at" {
		x = &in.updated
	}
	users := x.users
	i, step := 0, 1
	if q.Desc {
		i, step = len(users)-1, -1
	}
	if q.StartingAfter != "" {
		p, ok := in.cursor(q.StartingAfter)
		if !ok {
			return nil, invalid("starting_after", "starting_after must be the id of a user of this instance.")
		}
		j, found := x.find(p)
		switch {
		case q.Desc:
			i = j - 1
		case found:
			i = j + 1
		default:
			i = j
		}
	}
	page := make([]*User, 0, min(q.Limit, len(users)))
	skip := q.Offset
	if !q.filtered() {
		i, skip = i+step*min(skip, len(users)), 0
	}
	for ; i >= 0 && i < len(users) && len(page) < q.Limit; i += step {
		if !q.match(users[i]) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		page = append(page, users[i])
	}
	return page, nil
}

// cursor is the place of the user a starting_after names: a user of the
// instance, or one deleted since.
func (in *Instance) cursor(id string) (pos, bool) {
	if u, ok := in.byID[id]; ok {
		return in.created.pos(u), true
	}
	if at, ok := in.gone[id]; ok {
		return pos{at, id}, true
	}
	return pos{}, false
}

// Count returns how many users match q's filters, as GET
// /v1/users/count does.
func (in *Instance) Count(q Query) int {
	in.mu.RLock()
	defer in.mu.RUnlock()
	if !q.filtered() {
		return len(in.byID)
	}
	n := 0
	for _, u := range in.byID {
		if q.match(u) {
			n++
		}
	}
	return n
}
