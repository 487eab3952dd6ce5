package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// A relayed delivery that the app does not take is reported as failed,
// with the status, reason and outcome that the answer's body gives: the
// log, the inspector and the sender agree.
func TestRelayFailuresAgree(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	signer, _ := fake.NewSigner(vectorSecret)
	g := fake.New(5, time.Now())
	for _, tc := range []struct {
		name          string
		target        string
		senderTimeout time.Duration
		status        int
		reason        string
	}{
		{"the sender gives up before the app answers", slow.URL, 300 * time.Millisecond, http.StatusGatewayTimeout, ReasonAppTimeout},
		{"the app is down", down.URL, 5 * time.Second, http.StatusBadGateway, ReasonAppUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reports := make(chan Report, 1)
			secret, _ := ParseSecret(vectorSecret)
			v, _ := NewVerifier(secret)
			var answer []byte
			relay := httptest.NewServer(NewRelay(v, tc.target, nil, Options{Observe: func(r Report) { reports <- r }}))
			defer relay.Close()
			d, err := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := fake.Post(t.Context(), &http.Client{Timeout: tc.senderTimeout}, relay.URL, d)
			if resp.Status != 0 {
				answer = resp.Body
			}
			var rep Report
			select {
			case rep = <-reports:
			case <-time.After(10 * time.Second):
				t.Fatal("no report")
			}
			var ans Answer
			if err := json.Unmarshal(rep.Response, &ans); err != nil {
				t.Fatalf("the answer %q is not JSON: %v", rep.Response, err)
			}
			if rep.Outcome != "failed" || rep.Status != tc.status || rep.Reason != tc.reason || ans.Outcome != rep.Outcome || ans.Reason != rep.Reason {
				t.Fatalf("report %s %d %s, answer %+v; want failed %d %s in both", rep.Outcome, rep.Status, rep.Reason, ans, tc.status, tc.reason)
			}
			if answer != nil && string(answer) != string(rep.Response) {
				t.Fatalf("the sender got %q, the report says %q", answer, rep.Response)
			}
		})
	}
}

// The report of a relayed delivery holds the app's answer's headers, for
// the inspector to show.
func TestRelayReportsTheAppsHeaders(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_42")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer app.Close()
	relay, reports := observedRelay(t, app.URL)
	signer, _ := fake.NewSigner(vectorSecret)
	g := fake.New(6, time.Now())
	d, err := g.Deliver(signer, g.Created(g.NewUser()), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Post(t.Context(), http.DefaultClient, relay.URL, d); err != nil {
		t.Fatal(err)
	}
	if rep := <-reports; rep.AppHeader.Get("X-Request-Id") != "req_42" {
		t.Errorf("the report's app headers: %v", rep.AppHeader)
	}
}

// A relayed delivery's report names the entity it is about, as the
// receiver's own does: the user's, the organization's or the membership's
// id (the log, the ndjson stream and the inspector show it).
func TestRelayReportsTheEntity(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	relay, reports := observedRelay(t, app.URL)
	signer, _ := fake.NewSigner(vectorSecret)
	g := fake.New(7, time.Now())
	u := g.NewUser()
	o := g.NewOrg(u)
	m := g.NewMember(o, u)
	for _, tc := range []struct {
		ev         fake.Event
		id, userID string
	}{
		{g.Created(u), u.ID, u.ID},
		{g.OrgCreated(o), o.ID, ""},
		{g.MemberCreated(m), m.ID, ""},
	} {
		d, err := g.Deliver(signer, tc.ev, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fake.Post(t.Context(), http.DefaultClient, relay.URL, d); err != nil {
			t.Fatal(err)
		}
		if rep := <-reports; rep.ID != tc.id || rep.UserID != tc.userID {
			t.Errorf("%s: report id %q, user_id %q; want %q, %q", tc.ev.Type, rep.ID, rep.UserID, tc.id, tc.userID)
		}
	}
}

// observedRelay is a relay to app, verifying with the test vectors'
// secret, and the channel that its reports go to.
func observedRelay(t *testing.T, app string) (*httptest.Server, <-chan Report) {
	secret, _ := ParseSecret(vectorSecret)
	v, _ := NewVerifier(secret)
	reports := make(chan Report, 1)
	relay := httptest.NewServer(NewRelay(v, app, nil, Options{Observe: func(r Report) { reports <- r }}))
	t.Cleanup(relay.Close)
	return relay, reports
}
