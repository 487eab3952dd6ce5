package tui

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

// fakeBackend is an in-memory Backend: it records the calls that act, and
// serves the rows and ledger rows that the test sets.
type fakeBackend struct {
	mu      sync.Mutex
	users   []store.User
	states  []store.State
	others  map[store.Kind][]store.User // the organizations' and memberships' tables
	filling *BackfillMsg                // a backfill under way
	history []store.Record
	bodies  map[string][]byte // the ledger's payloads by svix-id
	curled  Delivery          // what Curl was last given
	resent  []string          // the bodies Resend was given
	err     error             // returned by every call that can fail
	slow    time.Duration     // how long a read of the rows takes
	calls   []string
}

var _ Backend = (*fakeBackend)(nil)

func (f *fakeBackend) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// set replaces the users table, as a delivery would change it.
func (f *fakeBackend) set(users []store.User, states []store.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users, f.states = users, states
}

func (f *fakeBackend) Backfill(context.Context) (*BackfillMsg, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.filling, f.err
}

// setKind replaces the table of another kind than users.
func (f *fakeBackend) setKind(kind store.Kind, rows []store.User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.others == nil {
		f.others = map[store.Kind][]store.User{}
	}
	f.others[kind] = rows
}

func (f *fakeBackend) Rows(_ context.Context, kind store.Kind) ([]store.User, []store.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	time.Sleep(f.slow)
	if kind != store.KindUser {
		return slices.Clone(f.others[kind]), nil, f.err
	}
	return slices.Clone(f.users), slices.Clone(f.states), f.err
}

func (f *fakeBackend) History(_ context.Context, p store.Position, n int) ([]store.Record, error) {
	f.record("history %s %s %d", p.ReceivedAt.Format(time.TimeOnly), p.SvixID, n)
	return f.history, f.err
}

func (f *fakeBackend) Send(_ context.Context, eventType, userID string) error {
	f.record("send %s %s", eventType, userID)
	return f.err
}

func (f *fakeBackend) Scenario(_ context.Context, name string) error {
	f.record("scenario %s", name)
	return f.err
}

func (f *fakeBackend) Replay(_ context.Context, d Delivery) error {
	f.record("replay %s", d.SvixID)
	return f.err
}

func (f *fakeBackend) Resend(_ context.Context, d Delivery) error {
	f.record("resend %s", d.SvixID)
	f.mu.Lock()
	f.resent = append(f.resent, string(d.Body))
	f.mu.Unlock()
	return f.err
}

func (f *fakeBackend) Body(_ context.Context, svixID string) ([]byte, error) {
	f.record("body %s", svixID)
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.bodies[svixID]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("no delivery %s", svixID)
}

func (f *fakeBackend) Curl(d Delivery) string {
	f.record("curl %s", d.SvixID)
	f.mu.Lock()
	f.curled = d
	f.mu.Unlock()
	return "curl http://127.0.0.1:8080/webhooks/clerk --data-binary @- # " + d.SvixID
}

// The test data: fixed times, so that views are the same on every run.
var (
	t0      = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ada     = "user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C"
	grace   = "user_2qRn9We2Lf5AtS8v1Oy4Xb0Cg6D"
	svixIDs = []string{
		"msg_2yF0c3Jt8LwQe1Rz5Hn7Kp4Mb6D", "msg_2yF0c4Ku9MxRf2Sa6Io8Lq5Nc7E",
		"msg_2yF0c5Lv0NySg3Tb7Jp9Mr6Od8F", "msg_2yF0c6Mw1OzTh4Uc8Kq0Ns7Pe9G",
		"msg_2yF0c7Nx2PaUi5Vd9Lr1Ot8Qf0H",
	}
	testInfo = Info{
		Listen:      "127.0.0.1:8080",
		WebhookURL:  "http://127.0.0.1:8080/webhooks/clerk",
		Database:    "sqlite clerk-sync.db",
		Fingerprint: "sha256:3f9a0c1d",
		LogFile:     "/tmp/clerk-sync.log",
	}
)

func ptr(s string) *string { return &s }

// row is the users-table row of id at version n.
func row(id, email string, n int) store.User {
	return store.User{
		ID: "row_" + id[len(id)-4:], ClerkID: id, Email: ptr(email),
		FirstName: ptr("Ada"), LastName: ptr("Lovelace"), Username: ptr("ada"),
		CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(n) * time.Second),
	}
}

// delivery is the n-th delivery of the test data: verified and answered
// 200 unless the outcome says otherwise.
func delivery(n int, eventType, userID, outcome string) Delivery {
	id := svixIDs[n%len(svixIDs)]
	body := fmt.Sprintf(`{"data":{"id":%q},"object":"event","type":%q}`, userID, eventType)
	return Delivery{
		Received: t0.Add(time.Duration(n) * time.Second), SvixID: id, EventType: eventType,
		UserID: userID, Verified: true, Outcome: outcome, Status: http.StatusOK,
		Latency: time.Duration(n+1) * 1100 * time.Microsecond,
		Header: http.Header{
			"Svix-Id": {id}, "Svix-Timestamp": {fmt.Sprint(t0.Unix() + int64(n))},
			"Svix-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
			"Content-Type":   {"application/json"},
		},
		Body:     []byte(body),
		Response: []byte(fmt.Sprintf(`{"outcome":%q,"svix_id":%q,"user_id":%q}`+"\n", outcome, id, userID)),
	}
}

// forgery is a delivery whose signature does not verify.
func forgery(n int) Delivery {
	d := delivery(n, "", "", "rejected")
	d.Verified, d.Reason, d.Error, d.Status = false, "bad-signature", "no signature matches", http.StatusBadRequest
	d.Header.Set("Svix-Signature", "v1,Zm9yZ2Vk")
	d.Response = []byte(`{"outcome":"rejected","svix_id":"` + d.SvixID + `","reason":"bad-signature","error":"no signature matches"}` + "\n")
	return d
}

// newTestModel is the inspector at 100×30 with its first reading of the
// rows done; its flashes never expire.
func newTestModel(t testing.TB, b *fakeBackend) *Model {
	t.Helper()
	m := New(b, testInfo)
	m.status.tick = func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }
	m.rowsEvery = 0 // the throttles have tests of their own
	m.readShare = 0
	m.exec = func(c *exec.Cmd, done tea.ExecCallback) tea.Cmd {
		return func() tea.Msg { return done(c.Run()) }
	}
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	run(m, m.Init())
	b.mu.Lock()
	b.calls = nil // the history read at start
	b.mu.Unlock()
	return m
}

// run runs cmd, as the program would, and hands its messages to m until
// no command is left. It returns the messages.
func run(m *Model, cmd tea.Cmd) []tea.Msg {
	var out []tea.Msg
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			out = append(out, msg)
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
	return out
}

// send hands msgs to m, running what they start.
func send(m *Model, msgs ...tea.Msg) []tea.Msg {
	var out []tea.Msg
	for _, msg := range msgs {
		_, cmd := m.Update(msg)
		out = append(out, run(m, cmd)...)
	}
	return out
}

// keys are key presses by name: "enter", "esc", "tab", "up", "down",
// "pgdown", "ctrl+c", or the text of a printable key.
func keys(names ...string) []tea.Msg {
	special := map[string]tea.Key{
		"enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape}, "tab": {Code: tea.KeyTab},
		"up": {Code: tea.KeyUp}, "down": {Code: tea.KeyDown}, "pgdown": {Code: tea.KeyPgDown},
		"ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
	}
	var out []tea.Msg
	for _, n := range names {
		if k, ok := special[n]; ok {
			out = append(out, tea.KeyPressMsg(k))
			continue
		}
		for _, r := range n {
			out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	return out
}

// lifecycle is three deliveries for ada: created, updated, deleted; each
// changes b's table before it is sent, as the receiver does.
func lifecycle(b *fakeBackend) []func() tea.Msg {
	return []func() tea.Msg{
		func() tea.Msg {
			b.set([]store.User{row(ada, "ada@example.com", 0)}, []store.State{{Kind: store.KindUser, ID: ada, Version: 1}})
			return DeliveriesMsg{delivery(0, "user.created", ada, "applied")}
		},
		func() tea.Msg {
			b.set([]store.User{row(ada, "ada@lovelace.dev", 1)}, []store.State{{Kind: store.KindUser, ID: ada, Version: 2}})
			return DeliveriesMsg{delivery(1, "user.updated", ada, "applied")}
		},
		func() tea.Msg {
			b.set(nil, []store.State{{Kind: store.KindUser, ID: ada, Version: 3, Deleted: true}})
			return DeliveriesMsg{delivery(2, "user.deleted", ada, "applied")}
		},
	}
}

// checkText fails t unless text holds each of want and none of notWant.
func checkText(t *testing.T, text string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("no %q in:\n%s", w, text)
		}
	}
	for _, w := range notWant {
		if strings.Contains(text, w) {
			t.Errorf("%q in:\n%s", w, text)
		}
	}
}

// screen is the inspector's screen as plain text.
func screen(m *Model) string {
	return stripANSI(m.View().Content)
}

func stripANSI(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString(strings.TrimRight(ansi.Strip(l), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
