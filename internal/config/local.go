package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CacheDir is where the toolkit keeps small state on this machine:
// CLERK_SYNC_CACHE_DIR when set, else clerk-sync in the user's cache
// directory.
func CacheDir() (string, error) {
	if d := os.Getenv("CLERK_SYNC_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set CLERK_SYNC_CACHE_DIR): %w", err)
	}
	return filepath.Join(d, "clerk-sync"), nil
}

// localSecrets lists the fingerprints of the secrets generated on this
// machine, one per line: Clerk cannot know those.
const localSecrets = "local-secrets"

// RememberLocalSecret records that the secret with this fingerprint was
// generated here.
func RememberLocalSecret(fingerprint string) error {
	dir, err := CacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, localSecrets), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, fingerprint); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// IsLocalSecret reports whether the secret with this fingerprint was
// generated on this machine.
func IsLocalSecret(fingerprint string) bool {
	dir, err := CacheDir()
	if err != nil {
		return false
	}
	f, err := os.Open(filepath.Join(dir, localSecrets))
	if err != nil { // none recorded yet, or unreadable: not known as local
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == fingerprint {
			return true
		}
	}
	return false
}
