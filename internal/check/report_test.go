package check

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The report of one case of each verdict, as text and as JUnit XML.
func TestReportGolden(t *testing.T) {
	ada, eve, mail := "Ada", "Eve", "ada@example.com"
	want := &store.User{ID: "user_1", ClerkID: "user_1", FirstName: &ada, Email: &mail,
		CreatedAt: time.UnixMilli(1764201600000), UpdatedAt: time.UnixMilli(1764201602000)}
	got := *want
	got.FirstName, got.UpdatedAt = &eve, time.UnixMilli(1764201601000)
	m := mapping.Default()
	ok := []Attempt{{Status: 200, Body: `{"ok":true}`}}
	results := []Result{
		{Case: "lifecycle", Sent: []Sent{{What: "user.created", Type: "user.created", SvixID: "msg_1", Expect: "2xx", Attempts: ok}}, Elapsed: 120 * time.Millisecond},
		{Case: "update-before-create", Elapsed: 480 * time.Millisecond, Sent: []Sent{
			{What: "the user.updated that arrived before its user.created", SvixID: "msg_2", Expect: "2xx",
				Attempts: []Attempt{{Status: 500, Body: "no user user_1 to update"}, {Status: 200}}},
			{What: "the user.created", SvixID: "msg_3", Expect: "2xx", Attempts: ok}}},
		{Case: "stale-update", Elapsed: 90 * time.Millisecond, Diffs: Compare(m, []Want{{ID: "user_1", Row: want}}, []store.User{got}),
			Sent: []Sent{{What: "the older user.updated, delivered last", SvixID: "msg_4", Expect: "2xx", Attempts: ok}}},
		{Case: "unsigned", Elapsed: 30 * time.Millisecond, Diffs: Compare(m, []Want{{ID: "user_2", Why: "its only delivery was unsigned"}}, []store.User{{ClerkID: "user_2"}}),
			Sent: []Sent{{What: "an unsigned user.created", SvixID: "msg_5", Expect: "4xx", Attempts: ok}}},
	}
	var text, junit bytes.Buffer
	for i := range results {
		judge(&results[i])
		WriteText(&text, results[i])
	}
	WriteSummary(&text, results, 1500*time.Millisecond)
	skipped := []Skip{{Case: "org-lifecycle", Reason: "clerk-sync.yaml maps no organizations: add `organizations: default` (or your own table) to it to judge them"}}
	if err := WriteJUnit(&junit, results, skipped, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", text.Bytes())
	golden(t, "report.junit.xml", junit.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-update rewrites it):\n%s", name, got)
	}
}

// The no-email case's users have no email to the end, whatever the seed:
// an update that gave one an email would leave nothing to test.
func TestNoEmailStaysWithoutEmail(t *testing.T) {
	for seed := range uint64(200) {
		plan := noEmail(fake.New(seed, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)))
		for _, w := range plan.Wants {
			if w.Row == nil || w.Row.Email != nil {
				t.Fatalf("seed %d: %s ends with email %v", seed, w.ID, w.Row)
			}
		}
	}
}
