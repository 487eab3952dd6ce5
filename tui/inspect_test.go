package tui_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/inspect"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

const secret = "whsec_" + "dHVpLWVuZC10by1lbmQtdGVzdC1zZWNyZXQtMDEyMw=="

// startTUI runs the inspector on backend b in a teatest program.
func startTUI(t *testing.T, b tui.Backend, url string) *teatest.TestModel {
	return teatest.NewTestModel(t, tui.New(b, tui.Info{WebhookURL: url, Database: "sqlite test.db"}),
		teatest.WithInitialTermSize(160, 30), teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
}

// pressCAndSeeTheRow presses c, waits for the row to reach st, and then for
// the rows pane to show it.
func pressCAndSeeTheRow(t *testing.T, tm *teatest.TestModel, st store.View) {
	t.Helper()
	tm.Type("c")
	var row *store.User
	deadline := time.Now().Add(10 * time.Second)
	for row == nil && time.Now().Before(deadline) {
		if users, _ := st.Users(context.Background()); len(users) == 1 {
			row = &users[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if row == nil {
		t.Fatal("pressing c wrote no row")
	}
	id, tail := row.ID, row.ID[len(row.ID)-4:] // ids are shown as user_…wCM9
	// Only the rows pane shows the date of "updated".
	updated := row.UpdatedAt.Format("01-02 15:04:05")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(updated)) },
		teatest.WithDuration(10*time.Second))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*tui.Model).View().Content
	if !strings.Contains(view, "1 user") || strings.Count(view, tail) < 2 {
		t.Fatalf("the rows pane does not show %s:\n%s", id, view)
	}
}

// In relay mode the app's own handler writes the users; with the app's
// database given, the rows pane shows what it wrote. The app here writes
// with plain SQL into a table it created itself.
func TestRelayShowsTheAppsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	appDB, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer appDB.Close()
	if _, err := appDB.Exec(`CREATE TABLE "User" ("id" TEXT PRIMARY KEY, "clerkId" TEXT NOT NULL UNIQUE, "email" TEXT,
		"firstName" TEXT, "lastName" TEXT, "username" TEXT, "imageUrl" TEXT,
		"createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, "updatedAt" DATETIME NOT NULL, "deletedAt" DATETIME)`); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := gjson.GetBytes(body, "data.id").String()
		updated := gjson.GetBytes(body, "data.updated_at").Int()
		if _, err := appDB.Exec(`INSERT INTO "User" ("id", "clerkId", "firstName", "updatedAt") VALUES (?, ?, ?, ?)`,
			"cuid_"+id[len(id)-6:], id, gjson.GetBytes(body, "data.first_name").String(), updated); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()

	view, err := sqlite.OpenView(context.Background(), path, mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	tm, _, _ := startReceiverTUI(t, server.Config{ForwardTo: app.URL, View: view}, nil, view)
	pressCAndSeeTheRow(t, tm, view)
}

// startReceiverTUI serves the receiver of cfg (path and secret filled in)
// on st, and runs the inspector on it, showing rows; it returns the
// inspector, the webhook URL and the signer of the secret.
func startReceiverTUI(t *testing.T, cfg server.Config, st store.Store, rows store.View) (*teatest.TestModel, string, *fake.Signer) {
	t.Helper()
	var tm *teatest.TestModel
	cfg.Path, cfg.Secret = "/hook", mustSecret(t)
	cfg.Observe = func(r webhook.Report) { tm.Send(tui.DeliveriesMsg{r}) }
	h, _, err := server.Handlers(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	signer, _ := fake.NewSigner(secret)
	tm = startTUI(t, inspect.New(rows, srv.URL+"/hook", signer), srv.URL+"/hook")
	return tm, srv.URL + "/hook", signer
}

func mustSecret(t *testing.T) webhook.Secret {
	s, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Pressing c sends a user.created through the real receiver into a real
// SQLite file, and the new user appears in the rows pane.
func TestPressingCMakesARowAppear(t *testing.T) {
	st, _ := storetest.SQLite(t, store.HardDelete)
	tm, _, _ := startReceiverTUI(t, server.Config{}, st, st)
	pressCAndSeeTheRow(t, tm, st)
}

// A delivery that the app's table refuses — a second user with an email
// that the seed plan's unique index already holds — shows as failed, with
// the database's message in the detail view.
func TestARefusedDeliveryShowsTheDatabaseMessage(t *testing.T) {
	p := storetest.PrismaTables(mapping.SQLite)[0] // the seed plan: email String @unique
	st, _ := storetest.SQLiteWith(t, p.Mapping, p.DDL)
	tm, url, signer := startReceiverTUI(t, server.Config{}, st, st)

	g := fake.New(9, time.Now())
	g.EmailRequired = true
	a, b := g.NewUser(), g.NewUser()
	b.Emails, b.PrimaryID = a.Emails, a.PrimaryID
	for i, u := range []*fake.User{a, b} {
		d, err := g.Deliver(signer, g.Created(u), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fake.Post(context.Background(), http.DefaultClient, url, d)
		if want := []int{200, 500}[i]; err != nil || resp.Status != want {
			t.Fatalf("delivery %d: %+v %v, want %d", i, resp, err, want)
		}
	}
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool { return bytes.Contains(out, []byte("failed")) },
		teatest.WithDuration(10*time.Second))
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool { return bytes.Contains(out, []byte("UNIQUE constraint failed")) },
		teatest.WithDuration(10*time.Second))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
}
