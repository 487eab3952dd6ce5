package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// DiffUsers describes how got differs from want, or returns "" when they
// hold the same rows. Rows pair up by Clerk id; a wanted row with an
// empty ID (a primary key that the app's generator fills) matches any.
func DiffUsers(got, want []store.User) string {
	byID := func(a, b store.User) int { return strings.Compare(a.ClerkID, b.ClerkID) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	var b strings.Builder
	gi, wi := 0, 0
	for gi < len(got) || wi < len(want) {
		switch {
		case wi == len(want) || (gi < len(got) && got[gi].ClerkID < want[wi].ClerkID):
			fmt.Fprintf(&b, "extra   %s\n", show(got[gi]))
			gi++
		case gi == len(got) || want[wi].ClerkID < got[gi].ClerkID:
			fmt.Fprintf(&b, "missing %s\n", show(want[wi]))
			wi++
		default:
			g := got[gi]
			if want[wi].ID == "" {
				if g.ID == "" {
					fmt.Fprintf(&b, "no primary key: %s\n", show(g))
				}
				g.ID = ""
			}
			if show(g) != show(want[wi]) {
				fmt.Fprintf(&b, "got     %s\nwant    %s\n", show(g), show(want[wi]))
			}
			gi++
			wi++
		}
	}
	return b.String()
}

func show(u store.User) string {
	s := func(p *string) string {
		if p == nil {
			return "NULL"
		}
		return fmt.Sprintf("%q", *p)
	}
	t := mapping.TimeText
	deleted := "NULL"
	if u.DeletedAt != nil {
		deleted = t(*u.DeletedAt)
	} else if u.Deleted {
		deleted = "true"
	}
	var other strings.Builder
	for _, k := range slices.Sorted(maps.Keys(u.Other)) {
		fmt.Fprintf(&other, " %s=%q", k, u.Other[k])
	}
	return fmt.Sprintf("%s clerkId=%s email=%s first=%s last=%s username=%s image=%s created=%s updated=%s deleted=%s%s",
		u.ID, u.ClerkID, s(u.Email), s(u.FirstName), s(u.LastName), s(u.Username), s(u.ImageURL),
		t(u.CreatedAt), t(u.UpdatedAt), deleted, other.String())
}
