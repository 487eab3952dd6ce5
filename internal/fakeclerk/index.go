package fakeclerk

import (
	"cmp"
	"slices"
	"strings"
)

// pos is a user's place in an ordering: its sort key, then its id, which
// breaks ties so that the order is total and a cursor is exact.
type pos struct {
	at int64
	id string
}

// index keeps the users sorted by a time field, so that a page is a slice
// of it rather than a sort per request.
type index struct {
	key   func(*User) int64
	users []*User
}

func (x *index) pos(u *User) pos { return pos{x.key(u), u.ID} }

// find returns where p is, or would be inserted, and whether it is there.
func (x *index) find(p pos) (int, bool) {
	return slices.BinarySearchFunc(x.users, p, func(u *User, p pos) int {
		return cmp.Or(cmp.Compare(x.key(u), p.at), strings.Compare(u.ID, p.id))
	})
}

func (x *index) add(u *User) {
	i, _ := x.find(x.pos(u))
	x.users = slices.Insert(x.users, i, u)
}

func (x *index) remove(u *User) {
	if i, ok := x.find(x.pos(u)); ok {
		x.users = slices.Delete(x.users, i, i+1)
	}
}

// sort puts users appended in any order into place, for bulk loads.
func (x *index) sort() {
	slices.SortFunc(x.users, func(a, b *User) int {
		return cmp.Or(cmp.Compare(x.key(a), x.key(b)), strings.Compare(a.ID, b.ID))
	})
}
