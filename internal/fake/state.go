package fake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/clerk-sync/clerk-sync/internal/config"
)

// StatePath is where mockclerk remembers the last user it created:
// MOCKCLERK_STATE when set, else mockclerk.json in the toolkit's cache
// directory (config.CacheDir).
func StatePath() (string, error) {
	if p := os.Getenv("MOCKCLERK_STATE"); p != "" {
		return p, nil
	}
	dir, err := config.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "mockclerk.json"), nil
}

// LoadUser reads the remembered user, or returns nil when there is none.
func LoadUser(path string) (*User, error) {
	var u User
	if found, err := readState(path, &u); !found || err != nil {
		return nil, err
	}
	return &u, nil
}

// SaveUser remembers u.
func SaveUser(path string, u *User) error { return writeState(path, u) }

// OrgState is what mockclerk remembers of organizations: the last one it
// created or acted on, and the last membership.
type OrgState struct {
	Org    *Org    `json:"org,omitempty"`
	Member *Member `json:"member,omitempty"`
}

// orgStatePath is the file beside the user's state that holds OrgState.
func orgStatePath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + "-orgs.json"
}

// LoadOrgs reads the remembered organization and membership (none when
// there is no file).
func LoadOrgs(path string) (OrgState, error) {
	var s OrgState
	_, err := readState(orgStatePath(path), &s)
	return s, err
}

// SaveOrgs remembers s.
func SaveOrgs(path string, s OrgState) error { return writeState(orgStatePath(path), s) }

// readState decodes the state file at path into v; found is false when
// there is no file.
func readState(path string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("mockclerk state %s is damaged (delete it): %w", path, err)
	}
	return true, nil
}

// writeState writes v to the state file at path, making its directory.
func writeState(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
