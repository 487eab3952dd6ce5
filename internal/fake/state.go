package fake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
