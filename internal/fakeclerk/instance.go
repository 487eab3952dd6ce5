package fakeclerk

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// Instance holds the users of one fake Clerk instance. It is safe for
// concurrent use.
type Instance struct {
	mu      sync.RWMutex
	byID    map[string]*User
	byEmail map[string]*User // lower-case address
	created index            // by (created_at, id)
	updated index            // by (updated_at, id)
	// gone keeps the created_at of deleted users, so that a cursor naming a
	// user deleted since the previous page still has a place to continue
	// from, as keyset paging over a database does.
	gone    map[string]int64
	changes uint64 // counts writes, so that a saver knows when to save
	now     func() time.Time
}

// NewInstance returns an instance with no users.
func NewInstance() *Instance {
	return &Instance{
		byID:    map[string]*User{},
		byEmail: map[string]*User{},
		created: index{key: func(u *User) int64 { return u.CreatedAt }},
		updated: index{key: func(u *User) int64 { return u.UpdatedAt }},
		gone:    map[string]int64{},
		now:     time.Now,
	}
}

// seedStart is when the first generated user signed up: a fixed time, so
// that a seed gives the same users, times included, on every run.
var seedStart = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)

// Seed adds n generated users, the same ones for the same seed: users
// that signed up before any webhook endpoint existed.
func (in *Instance) Seed(n int, seed uint64) {
	g := fake.New(seed, seedStart)
	in.mu.Lock()
	defer in.mu.Unlock()
	for range n {
		in.put(fromFake(g.NewUser()))
	}
	in.created.sort()
	in.updated.sort()
	in.changes++
}

// put adds u to the maps and appends it to the indexes, unsorted.
func (in *Instance) put(u *User) {
	in.byID[u.ID] = u
	for _, e := range u.Emails {
		in.byEmail[strings.ToLower(e.Value)] = u
	}
	in.created.users = append(in.created.users, u)
	in.updated.users = append(in.updated.users, u)
}

// Len is the number of users.
func (in *Instance) Len() int {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return len(in.byID)
}

// Users returns every user, oldest first.
func (in *Instance) Users() []*User {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return append([]*User(nil), in.created.users...)
}

// Get returns the user with this id, or a 404 Error.
func (in *Instance) Get(id string) (*User, error) {
	in.mu.RLock()
	defer in.mu.RUnlock()
	if u, ok := in.byID[id]; ok {
		return u, nil
	}
	return nil, errNotFound
}

// tick returns the time of a write that follows prev (Unix ms): now, or
// 1 ms after prev when the clock has not moved past it, so that a user's
// updated_at strictly increases and is never further ahead of the wall
// clock than that needs.
func (in *Instance) tick(prev int64) int64 {
	return max(in.now().UnixMilli(), prev+1)
}

// Create adds a user from c, as POST /v1/users does.
func (in *Instance) Create(c Changes) (*User, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := in.tick(0)
	u := &User{ID: randomID("user"), ImageURL: "https://img.clerk.com/" + randomBase62(40), CreatedAt: now, UpdatedAt: now}
	if c.CreatedAt != nil {
		u.CreatedAt = *c.CreatedAt
	}
	for _, addr := range c.EmailAddresses {
		if err := in.checkEmail(addr, ""); err != nil {
			return nil, err
		}
		if u.hasEmail(map[string]bool{strings.ToLower(addr): true}) {
			return nil, taken("email_address", "email address")
		}
		u.Emails = append(u.Emails, Identifier{ID: randomID("idn"), Value: strings.ToLower(addr)})
	}
	if len(u.Emails) > 0 {
		u.PrimaryEmailID = &u.Emails[0].ID
	}
	for _, phone := range c.PhoneNumbers {
		u.Phones = append(u.Phones, Identifier{ID: randomID("idn"), Value: phone})
	}
	if len(u.Phones) > 0 {
		u.PrimaryPhoneID = &u.Phones[0].ID
	}
	if err := in.apply(u, c); err != nil {
		return nil, err
	}
	in.replace(nil, u)
	in.changes++
	return u, nil
}

// Update changes the user with this id, as PATCH /v1/users/{id} does,
// and moves its updated_at forward.
func (in *Instance) Update(id string, c Changes) (*User, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	old, ok := in.byID[id]
	if !ok {
		return nil, errNotFound
	}
	u := old.clone()
	u.UpdatedAt = in.tick(old.UpdatedAt)
	if c.CreatedAt != nil {
		u.CreatedAt = *c.CreatedAt
	}
	if err := in.setPrimaries(u, c); err != nil {
		return nil, err
	}
	if err := in.apply(u, c); err != nil {
		return nil, err
	}
	in.replace(old, u)
	in.changes++
	return u, nil
}

// Delete removes the user with this id, as DELETE /v1/users/{id} does,
// and returns when it happened (Unix ms): after the user's last update.
func (in *Instance) Delete(id string) (int64, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	u, ok := in.byID[id]
	if !ok {
		return 0, errNotFound
	}
	in.replace(u, nil)
	in.gone[u.ID] = u.CreatedAt
	in.changes++
	return in.tick(u.UpdatedAt), nil
}

// replace swaps old for u in every map and index: old nil adds u, u nil
// removes old.
func (in *Instance) replace(old, u *User) {
	if old != nil {
		in.created.remove(old)
		in.updated.remove(old)
		delete(in.byID, old.ID)
		for _, e := range old.Emails {
			delete(in.byEmail, strings.ToLower(e.Value))
		}
	}
	if u == nil {
		return
	}
	in.byID[u.ID] = u
	for _, e := range u.Emails {
		in.byEmail[strings.ToLower(e.Value)] = u
	}
	in.created.add(u)
	in.updated.add(u)
}

// checkEmail refuses an address that is malformed or belongs to a user
// other than self.
func (in *Instance) checkEmail(addr, self string) error {
	if at := strings.IndexByte(addr, '@'); at < 1 || at == len(addr)-1 {
		return &Error{Status: 422, Code: "form_param_format_invalid", Message: "is invalid",
			LongMessage: "email_address must be a valid email address.", Param: "email_address"}
	}
	if other, ok := in.byEmail[strings.ToLower(addr)]; ok && other.ID != self {
		return taken("email_address", "email address")
	}
	return nil
}

// setPrimaries applies primary_email_address_id and
// primary_phone_number_id, which must name one of the user's own.
func (in *Instance) setPrimaries(u *User, c Changes) error {
	if c.PrimaryEmailAddressID.Set {
		if !owns(u.Emails, c.PrimaryEmailAddressID.Value) {
			return invalid("primary_email_address_id", "primary_email_address_id must be the id of one of the user's email addresses.")
		}
		u.PrimaryEmailID = c.PrimaryEmailAddressID.Value
	}
	if c.PrimaryPhoneNumberID.Set {
		if !owns(u.Phones, c.PrimaryPhoneNumberID.Value) {
			return invalid("primary_phone_number_id", "primary_phone_number_id must be the id of one of the user's phone numbers.")
		}
		u.PrimaryPhoneID = c.PrimaryPhoneNumberID.Value
	}
	return nil
}

func owns(ids []Identifier, id *string) bool {
	if id == nil {
		return false
	}
	for _, x := range ids {
		if x.ID == *id {
			return true
		}
	}
	return false
}

// apply sets the fields of c that a create and an update share.
func (in *Instance) apply(u *User, c Changes) error {
	for _, f := range []struct {
		field Field[string]
		to    **string
	}{{c.FirstName, &u.FirstName}, {c.LastName, &u.LastName}} {
		if f.field.Set {
			*f.to = f.field.Value
		}
	}
	if c.Username.Set {
		if c.Username.Value != nil && in.usernameTaken(*c.Username.Value, u.ID) {
			return taken("username", "username")
		}
		u.Username = c.Username.Value
	}
	if c.ExternalID.Set {
		if c.ExternalID.Value != nil && in.externalIDTaken(*c.ExternalID.Value, u.ID) {
			return taken("external_id", "external ID")
		}
		u.ExternalID = c.ExternalID.Value
	}
	for _, m := range []struct {
		value json.RawMessage
		to    *json.RawMessage
	}{{c.PublicMetadata, &u.PublicMetadata}, {c.PrivateMetadata, &u.PrivateMetadata}, {c.UnsafeMetadata, &u.UnsafeMetadata}} {
		if m.value != nil {
			*m.to = m.value
		}
	}
	if c.Password.Set {
		u.PasswordEnabled = c.Password.Value != nil
	}
	return nil
}

// usernameTaken and externalIDTaken scan every user: writes are rare next
// to reads, and two more maps would cost memory on every user.
func (in *Instance) usernameTaken(name, self string) bool {
	for _, o := range in.byID {
		if o.ID != self && o.Username != nil && strings.EqualFold(*o.Username, name) {
			return true
		}
	}
	return false
}

func (in *Instance) externalIDTaken(ext, self string) bool {
	for _, o := range in.byID {
		if o.ID != self && o.ExternalID != nil && *o.ExternalID == ext {
			return true
		}
	}
	return false
}
