package store

import "testing"

// Get reads back what Set wrote, for the members and for Other, and
// says when a field has no value.
func TestUserGetIsSetsInverse(t *testing.T) {
	values := map[string]string{
		"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "username": "ada",
		"image_url": "https://img.clerk.com/ada", "created_at": "2026-11-01T12:00:00.001Z",
		"updated_at": "2026-11-02T12:00:00.250Z", "role": "org:admin", "public_metadata": `{"plan":"pro"}`,
	}
	var u User
	for field := range values {
		if _, ok := u.Get(field); ok {
			t.Errorf("%s has a value before Set", field)
		}
	}
	for field, text := range values {
		u.Set(field, text)
	}
	for field, want := range values {
		if got, ok := u.Get(field); !ok || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", field, got, ok, want)
		}
	}
}
