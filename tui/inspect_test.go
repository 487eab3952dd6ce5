package tui_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/inspect"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
	"github.com/clerk-sync/clerk-sync/tui"
)

const secret = "whsec_" + "dHVpLWVuZC10by1lbmQtdGVzdC1zZWNyZXQtMDEyMw=="

// Pressing c sends a user.created through the real receiver into a real
// SQLite file, and the new user appears in the rows pane.
func TestPressingCMakesARowAppear(t *testing.T) {
	st, _ := storetest.SQLite(t, store.HardDelete)
	s, _ := webhook.ParseSecret(secret)
	var tm *teatest.TestModel
	h, _, err := server.Handlers(server.Config{Path: "/hook", Secret: s, Observe: func(r webhook.Report) {
		tm.Send(tui.DeliveryMsg{Delivery: r})
	}}, st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	signer, _ := fake.NewSigner(secret)
	model := tui.New(inspect.New(st, srv.URL+"/hook", signer), tui.Info{Listen: srv.Listener.Addr().String(), WebhookURL: srv.URL + "/hook", Database: "sqlite test.db"})
	tm = teatest.NewTestModel(t, model, teatest.WithInitialTermSize(160, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))

	tm.Type("c")
	var id string
	deadline := time.Now().Add(10 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		if users, _ := st.Users(context.Background()); len(users) == 1 {
			id = users[0].ID
		}
		time.Sleep(10 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("pressing c wrote no row")
	}
	tail := id[len(id)-4:] // ids are shown as user_…wCM9
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(tail)) },
		teatest.WithDuration(10*time.Second))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*tui.Model).View().Content
	if !strings.Contains(view, "1 user") || strings.Count(view, tail) < 2 {
		t.Fatalf("the rows pane does not show %s:\n%s", id, view)
	}
}
