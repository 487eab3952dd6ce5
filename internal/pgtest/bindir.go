package pgtest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serverPrograms are the programs a cluster needs from one installation.
var serverPrograms = []string{"initdb", "pg_ctl", "postgres"}

// findBinDir returns the first directory holding the server programs among
// Debian's /usr/lib/postgresql/*/bin (newest version first), pg_config
// --bindir, and the directory of initdb on PATH.
func findBinDir() (string, error) {
	return firstWithPrograms(binDirCandidates())
}

// binDirCandidates lists where the server programs may be, best first.
func binDirCandidates() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Sort by version number so that 16 comes before 9.6.
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return cmp.Compare(version(b), version(a)) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		// Resolve symlinks such as /usr/local/bin/initdb, whose directory
		// does not hold the other programs.
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
		dirs = append(dirs, filepath.Dir(path))
	}
	return dirs
}

// firstWithPrograms returns the first of dirs that holds every server
// program, or an error wrapping ErrNoPostgres.
func firstWithPrograms(dirs []string) (string, error) {
	for _, dir := range dirs {
		if hasPrograms(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("find %s in /usr/lib/postgresql/*/bin, pg_config --bindir or PATH (looked in %q): %w",
		strings.Join(serverPrograms, ", "), dirs, ErrNoPostgres)
}

// hasPrograms reports whether dir holds every server program, executable.
func hasPrograms(dir string) bool {
	for _, p := range serverPrograms {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
