// Package buildtest builds the toolkit's commands for tests that need a
// process of their own: one to SIGKILL, or one that runs beside another.
package buildtest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Sync is the import path of the clerk-sync command.
const Sync = "github.com/clerk-sync/clerk-sync/cmd/sync"

// Build builds the command at the import path pkg as name in a directory
// of the test's, removed when the test ends. Go's build cache makes every
// build after the first a link.
func Build(t testing.TB, pkg, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return path
}
