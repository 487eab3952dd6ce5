package tui

import (
	"strings"

	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// kindOf is the kind of entity d is about: its event type's, else a user
// (an event the sync ignores is shown beside the users).
func kindOf(d Delivery) store.Kind {
	if k, _, ok := clerk.KindOf(d.EventType); ok {
		return k
	}
	return store.KindUser
}

// entityOf is the Clerk id of the entity d is about: its user's, or the
// organization's or membership's own (fromRecord sets it for a delivery
// read from the ledger).
func entityOf(d Delivery) string {
	if kindOf(d) == store.KindUser {
		return d.UserID
	}
	return d.ID
}

// shortType is an event type as the events pane lists it, in 12
// columns: organization.created as org.created,
// organizationMembership.created as memb.created; the detail shows it
// whole.
func shortType(t string) string {
	if rest, ok := strings.CutPrefix(t, "organizationMembership."); ok {
		return "memb." + rest
	}
	if rest, ok := strings.CutPrefix(t, "organization."); ok {
		return "org." + rest
	}
	return t
}

// kindTitle names a kind in the rows pane: "Users", "Organizations",
// "Memberships".
func kindTitle(k store.Kind) string {
	switch k {
	case store.KindOrganization:
		return "Organizations"
	case store.KindMembership:
		return "Memberships"
	}
	return "Users"
}

// nextKind is the table the rows pane shows after k's.
func nextKind(k store.Kind) store.Kind {
	for i, kind := range store.Kinds {
		if kind == k {
			return store.Kinds[(i+1)%len(store.Kinds)]
		}
	}
	return store.KindUser
}
