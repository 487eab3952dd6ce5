package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// A database that would not keep what clerk-sync acknowledges, or not be
// the file it names, stops start-up.
func TestRefusesDatabaseThatIsNotAFile(t *testing.T) {
	for _, tc := range []struct{ db, want string }{
		{":memory:", "an in-memory SQLite database is gone when clerk-sync exits"},
		{"file::memory:?cache=shared", "an in-memory SQLite database is gone when clerk-sync exits"},
		{"users.db\x00.bak", "has a NUL byte"},
	} {
		dir := inTempDir(t)
		t.Setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
		var stdout, stderr bytes.Buffer
		// Were it accepted, it would serve until the context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		code := run(ctx, []string{"--addr", "127.0.0.1:0", "--db", tc.db}, &stdout, &stderr)
		cancel()
		if code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("--db %q: exit %d, stderr %q; want 1 and %q", tc.db, code, stderr.String(), tc.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 1 { // the cache directory
			t.Errorf("--db %q created %v", tc.db, entries)
		}
	}
}
