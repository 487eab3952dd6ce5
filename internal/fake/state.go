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
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var u User
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("mockclerk state %s is damaged (delete it): %w", path, err)
	}
	return &u, nil
}

// SaveUser remembers u.
func SaveUser(path string, u *User) error {
	b, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

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
	b, err := os.ReadFile(orgStatePath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("mockclerk state %s is damaged (delete it): %w", orgStatePath(path), err)
	}
	return s, nil
}

// SaveOrgs remembers s.
func SaveOrgs(path string, s OrgState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(orgStatePath(path), b, 0o644)
}
