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
// to a real receiver, leaves exactly the rows of the scenario's users, on
// both stores.
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
						ds, users, err := c.plan(context.Background(), s, seed, config.NewEnv(nil))
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
						want := storetest.Rows(mapping.Default(), users...)
						got, err := st.Users(context.Background())
						if err != nil {
							t.Fatal(err)
						}
						if diff := storetest.DiffUsers(got, want); diff != "" {
							t.Fatalf("users table after %d deliveries:\n%s\n%s", len(ds), diff, out.String())
						}
					})
				}
			}
		})
	}
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
	code, script, errOut := mockclerk(context.Background(), "scenario", "lifecycle", "--dry-run", "--to", url)
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, errOut)
	}
	answers, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, answers)
	}
	if n := strings.Count(string(answers), `"outcome":"applied"`); n != strings.Count(script, "curl ") || n == 0 {
		t.Fatalf("%d applied of %d commands:\n%s", n, strings.Count(script, "curl "), answers)
	}
}
