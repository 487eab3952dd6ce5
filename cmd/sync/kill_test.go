package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/buildtest"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// listings counts the GET /v1/users requests that reach a fake instance,
// with their starting_after, and holds the one numbered hold until the
// client goes away.
type listings struct {
	api  http.Handler
	held chan struct{} // closed when the request numbered hold arrives

	mu    sync.Mutex
	hold  int
	after []string // starting_after of each listing request, in order
}

func (l *listings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/users" {
		l.mu.Lock()
		l.after = append(l.after, r.URL.Query().Get("starting_after"))
		held := len(l.after) == l.hold
		l.mu.Unlock()
		if held {
			close(l.held)
			<-r.Context().Done()
			return
		}
	}
	l.api.ServeHTTP(w, r)
}

// take returns the requests counted so far and starts a new count.
func (l *listings) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	after := l.after
	l.after, l.hold = nil, 0
	return after
}

// A backfill process killed with SIGKILL in the middle of its run (a page
// being applied, the next one asked for) loses nothing: the next run
// continues from the last page it saved, not from the start, and the
// table ends equal to Clerk's users.
func TestBackfillResumesAfterSIGKILL(t *testing.T) {
	bin := buildtest.Build(t, buildtest.Sync, "clerk-sync")
	for name, db := range map[string]func(testing.TB) string{
		"sqlite":   func(t testing.TB) string { return filepath.Join(t.TempDir(), "users.db") },
		"postgres": pgtest.URL,
	} {
		t.Run(name, func(t *testing.T) {
			const users, pageSize = 2750, 500
			in := fakeclerk.NewInstance()
			in.Seed(users, 7)
			key := fakeclerk.NewSecretKey()
			// The 6th listing is asked for once the 5th page has come back,
			// while that page is applied: the process dies there.
			l := &listings{api: fakeclerk.NewAPI(in, fakeclerk.APIOptions{Key: key}), hold: 6, held: make(chan struct{})}
			srv := httptest.NewServer(l)
			t.Cleanup(srv.Close)
			url := db(t)
			backfill := func() *exec.Cmd {
				cmd := exec.Command(bin, "backfill", "--api-url", srv.URL, "--db", url, "--rate", "1000", "--output", "ndjson")
				cmd.Dir = t.TempDir()
				cmd.Env = append(os.Environ(), "CLERK_SECRET_KEY="+key, "DATABASE_URL=", "CLERK_SYNC_CONFIG=", "CLERK_SYNC_CACHE_DIR="+cmd.Dir)
				return cmd
			}

			first := backfill()
			stdout, err := first.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			first.Stderr = &stderr
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			pages := bufio.NewScanner(stdout)
			for range 4 { // four pages committed and their place saved
				if !pages.Scan() {
					first.Process.Kill() //nolint:errcheck // failing anyway
					first.Wait()         //nolint:errcheck // failing anyway
					t.Fatalf("the first run ended before its 4th page: %s", stderr.String())
				}
			}
			select {
			case <-l.held:
			case <-time.After(30 * time.Second):
				t.Fatal("the 6th page was never asked for")
			}
			if err := first.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			first.Wait() //nolint:errcheck // killed
			if len(l.take()) != 6 {
				t.Fatal("the first run's requests were not counted")
			}

			second := backfill()
			out, err := second.CombinedOutput()
			if err != nil {
				t.Fatalf("the second run: %v\n%s", err, out)
			}
			// It went on from the 4th or the 5th page, whichever was saved
			// when the process died: not from the start.
			order := in.Users()
			after := l.take()
			switch {
			case len(after) == 2 && after[0] == order[4*pageSize-1].ID && after[1] == order[5*pageSize-1].ID:
			case len(after) == 1 && after[0] == order[5*pageSize-1].ID:
			default:
				t.Fatalf("the second run listed with starting_after %q; want the last user of the 4th page (%s) or of the 5th (%s), and no request from the start",
					after, order[4*pageSize-1].ID, order[5*pageSize-1].ID)
			}
			if !strings.Contains(string(out), fmt.Sprintf("%d users read", users)) {
				t.Errorf("the second run's summary does not count all %d users:\n%s", users, out)
			}
			wantUsers(t, url, in)
		})
	}
}

// wantUsers fails unless the users table at db holds exactly the
// instance's users, each as Clerk has it now.
func wantUsers(t *testing.T, db string, in *fakeclerk.Instance) {
	t.Helper()
	st, _, err := server.OpenStore(context.Background(), db, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*fakeclerk.User{}
	for _, u := range in.Users() {
		want[u.ID] = u
	}
	if len(rows) != len(want) {
		t.Errorf("%d rows, want the instance's %d users", len(rows), len(want))
	}
	for _, r := range rows {
		u, ok := want[r.ClerkID]
		if !ok {
			t.Errorf("row %s is no user of the instance", r.ClerkID)
			continue
		}
		email := ""
		if r.Email != nil {
			email = *r.Email
		}
		if r.UpdatedAt.UnixMilli() != u.UpdatedAt || email != u.PrimaryEmail() {
			t.Errorf("row %s: updated %d, email %q; want %d, %q", r.ClerkID, r.UpdatedAt.UnixMilli(), email, u.UpdatedAt, u.PrimaryEmail())
		}
	}
}
