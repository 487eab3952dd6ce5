package clerk

import "github.com/clerk-sync/clerk-sync/internal/store"

// ParseUser decodes a user object of the Backend API, which is a user
// webhook's data, into the change that a user.updated carrying it would
// make: the same fields, the same version, the same checks.
func ParseUser(data []byte) (*store.Change, error) {
	body := make([]byte, 0, len(data)+32)
	body = append(body, `{"type":"user.updated","data":`...)
	body = append(body, data...)
	body = append(body, '}')
	_, c, err := Parse(body)
	return c, err
}
