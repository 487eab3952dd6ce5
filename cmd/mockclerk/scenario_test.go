package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/scenario"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// receiver serves a real clerk-sync handler on st.
func receiver(t *testing.T, st store.Store) string {
	t.Helper()
	secret, _ := webhook.ParseSecret(testSecret)
	h, _, err := server.Handlers(server.Config{Path: "/hook", Secret: secret}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

// Every built-in scenario, shuffled and duplicated, delivered by mockclerk
// to a real receiver, leaves exactly the rows that its plan expects in the
// users, organizations and memberships tables, on both stores.
func TestScenariosEndToEnd(t *testing.T) {
	stores := map[string]func(*testing.T, store.DeleteMode) (store.Store, func(string) error){
		"sqlite": storetest.SQLite, "postgres": storetest.Postgres,
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			setup(t)
			for _, sc := range scenario.Builtins() {
				for seed := uint64(1); seed <= 3; seed++ {
					t.Run(fmt.Sprintf("%s/seed=%d", sc, seed), func(t *testing.T) {
						st, _ := open(t, store.HardDelete)
						c := &scenarioCmd{shuffle: true, duplicate: 3}
						c.fireFlags = fireFlags{to: receiver(t, st), concurrency: 4, retry: "none", output: "text", headers: "svix"}
						s, err := scenario.Load(sc)
						if err != nil {
							t.Fatal(err)
						}
						ds, p, err := c.plan(context.Background(), s, seed, config.NewEnv(nil))
						if err != nil {
							t.Fatal(err)
						}
						env, err := config.LoadEnv(".") // setup's secret
						if err != nil {
							t.Fatal(err)
						}
						dv, rate, err := c.deliverer(env)
						if err != nil {
							t.Fatal(err)
						}
						var out strings.Builder
						if err := c.fire(context.Background(), dv, rate, slices.Values(ds), &out, io.Discard); err != nil {
							t.Fatalf("%v\n%s", err, out.String())
						}
						if diff := diffTables(st, p); diff != "" {
							t.Fatalf("after %d deliveries:\n%s\n%s", len(ds), diff, out.String())
						}
					})
				}
			}
		})
	}
}

// diffTables compares each table of st with the rows that p expects of
// it, through the default mapping; "" when all three match.
func diffTables(st store.Store, p scenario.Plan) string {
	var b strings.Builder
	for _, kind := range store.Kinds {
		m, _ := mapping.Default().For(kind)
		var want []store.User
		for _, r := range p.Rows(kind) {
			want = append(want, storetest.Project(m, r))
		}
		got, err := st.Rows(context.Background(), kind)
		if err != nil {
			return fmt.Sprintf("%ss table: %v\n", kind, err)
		}
		if diff := storetest.DiffUsers(got, want); diff != "" {
			fmt.Fprintf(&b, "%ss table:\n%s", kind, diff)
		}
	}
	return b.String()
}

func TestScenarioCommand(t *testing.T) {
	setup(t)
	st, _ := storetest.SQLite(t, store.HardDelete)
	url := receiver(t, st)
	code, out, errOut := mockclerk(context.Background(), "scenario", "lifecycle", "--to", url, "--duplicate", "2")
	if code != 0 || !strings.Contains(out, "duplicate") || !strings.Contains(out, "sent ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = mockclerk(context.Background(), "scenario", "out-of-order", "--dry-run", "--to", url)
	if code != 0 || strings.Count(out, "curl -sS -X POST") != 7 || !strings.Contains(out, "svix-signature: v1,") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	// Each request's comment names the entity: an organization or a
	// membership by its own id.
	code, out, _ = mockclerk(context.Background(), "scenario", "org-membership-first", "--dry-run", "--to", url)
	for _, head := range []string{"# organizationMembership.updated orgmem_", "# organizationMembership.created orgmem_", "# organization.created org_", "# user.created user_"} {
		if code != 0 || !strings.Contains(out, head) {
			t.Fatalf("dry run: exit %d, no %q in\n%s", code, head, out)
		}
	}
	for _, args := range [][]string{{"scenario", "nope"}, {"send", "user.nope"}, {"scenario", "lifecycle", "--retry", "sometimes"}} {
		code, _, errOut := mockclerk(context.Background(), args...)
		if code != 2 || !strings.Contains(errOut, "mockclerk:") {
			t.Errorf("%v: exit %d, %q; want 2", args, code, errOut)
		}
	}
}

// The curl commands of --dry-run, run by a shell, are accepted by a real
// receiver with the same secret: they send the signed bytes exactly.
func TestDryRunCommandsAreAccepted(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed:", err)
	}
	setup(t)
	st, _ := storetest.SQLite(t, store.HardDelete)
	url := receiver(t, st)
	for _, sc := range []string{"lifecycle", "org-lifecycle"} {
		code, script, errOut := mockclerk(context.Background(), "scenario", sc, "--dry-run", "--to", url)
		if code != 0 {
			t.Fatalf("%s dry run: exit %d\n%s", sc, code, errOut)
		}
		answers, err := exec.Command("sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, answers)
		}
		if n := strings.Count(string(answers), `"outcome":"applied"`); n != strings.Count(script, "curl ") || n == 0 {
			t.Fatalf("%s: %d applied of %d commands:\n%s", sc, n, strings.Count(script, "curl "), answers)
		}
	}
}
