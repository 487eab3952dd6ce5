package fakeclerk

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testKey = "sk_test_fakeclerkTestKey000000000000000000"

// rig is an instance served by a real HTTP server.
type rig struct {
	t   testing.TB
	in  *Instance
	url string
}

func newRig(t testing.TB, in *Instance, o APIOptions) *rig {
	t.Helper()
	o.Key = testKey
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	srv := httptest.NewServer(NewAPI(in, o))
	t.Cleanup(srv.Close)
	return &rig{t: t, in: in, url: srv.URL}
}

// do sends a request with the instance's key.
func (r *rig) do(method, path, body string) (int, http.Header, []byte) {
	return r.doWith("Bearer "+testKey, method, path, body)
}

func (r *rig) doWith(auth, method, path, body string) (int, http.Header, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// page lists users and decodes the page's ids.
func (r *rig) page(query string) []string {
	r.t.Helper()
	code, _, body := r.do("GET", "/v1/users?"+query, "")
	if code != 200 {
		r.t.Fatalf("GET /v1/users?%s: %d %s", query, code, body)
	}
	var users []struct{ ID string }
	if err := json.Unmarshal(body, &users); err != nil {
		r.t.Fatalf("page: %v", err)
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// clerkError is the one entry of Clerk's error body.
type clerkError struct {
	Message     string            `json:"message"`
	LongMessage string            `json:"long_message"`
	Code        string            `json:"code"`
	Meta        map[string]string `json:"meta"`
}

func decodeError(t *testing.T, body []byte) clerkError {
	t.Helper()
	var e struct {
		Errors  []clerkError `json:"errors"`
		TraceID string       `json:"clerk_trace_id"`
	}
	if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) != 1 || len(e.TraceID) != 32 {
		t.Fatalf("not Clerk's error body: %s (%v)", body, err)
	}
	return e.Errors[0]
}

func seeded(n int) *Instance {
	in := NewInstance()
	in.Seed(n, 7)
	return in
}

// Paging a few thousand users by cursor, in either created_at order, or
// by offset, returns every user exactly once, in order.
func TestPagingReturnsEveryUserOnce(t *testing.T) {
	const n = 3001
	r := newRig(t, seeded(n), APIOptions{})
	want := r.in.Users()
	for _, tc := range []struct {
		name, order string
		cursor      bool
		limit       int
	}{
		{"cursor, newest first (default)", "", true, 500},
		{"cursor, created_at", "created_at", true, 500},
		{"cursor, +created_at, odd page", "%2Bcreated_at", true, 7},
		{"offset, created_at", "created_at", false, 500},
		{"offset, -created_at", "-created_at", false, 333},
		{"offset, updated_at", "updated_at", false, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			last := ""
			for {
				q := "limit=" + strconv.Itoa(tc.limit) + "&order_by=" + tc.order
				if tc.cursor && last != "" {
					q += "&starting_after=" + last
				} else if !tc.cursor {
					q += "&offset=" + strconv.Itoa(len(got))
				}
				ids := r.page(q)
				got = append(got, ids...)
				if len(ids) < tc.limit {
					break
				}
				last = ids[len(ids)-1]
			}
			if len(got) != n {
				t.Fatalf("%d users, want %d", len(got), n)
			}
			desc := strings.HasPrefix(tc.order, "-") || tc.order == ""
			seen := map[string]bool{}
			for i, id := range got {
				j := i
				if desc {
					j = n - 1 - i
				}
				if seen[id] || id != want[j].ID {
					t.Fatalf("user %d is %s, want %s (seen before: %v)", i, id, want[j].ID, seen[id])
				}
				seen[id] = true
			}
		})
	}
}

// A cursor naming a user deleted since the previous page continues from
// that user's place.
func TestCursorOfADeletedUser(t *testing.T) {
	r := newRig(t, seeded(30), APIOptions{})
	first := r.page("limit=10&order_by=created_at")
	if code, _, body := r.do("DELETE", "/v1/users/"+first[9], ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	next := r.page("limit=10&order_by=created_at&starting_after=" + first[9])
	if want := r.in.Users()[9].ID; next[0] != want {
		t.Fatalf("after the deleted cursor: %s, want %s", next[0], want)
	}
}

// Each refused listing gets Clerk's 422 body naming the parameter.
func TestListRefusals(t *testing.T) {
	r := newRig(t, seeded(5), APIOptions{})
	id := r.in.Users()[0].ID
	for _, tc := range []struct {
		query, code, param string
	}{
		{"starting_after=" + id + "&order_by=updated_at", "form_param_value_invalid", "starting_after"},
		{"starting_after=" + id + "&order_by=-updated_at", "form_param_value_invalid", "starting_after"},
		{"starting_after=" + id + "&offset=10", "form_param_value_invalid", "starting_after"},
		{"starting_after=user_2neverexisted", "form_param_value_invalid", "starting_after"},
		{"limit=0", "form_param_value_invalid", "limit"},
		{"limit=501", "form_param_value_invalid", "limit"},
		{"limit=ten", "form_param_value_invalid", "limit"},
		{"offset=-1", "form_param_value_invalid", "offset"},
		{"order_by=height", "form_param_value_invalid", "order_by"},
		{"order_by=first_name", "form_param_unknown", "order_by=first_name"},
		{"query=ada", "form_param_unknown", "query"},
		{"user_id=" + strings.Repeat("x&user_id=", 100) + "y", "form_param_value_invalid", "user_id"},
	} {
		code, _, body := r.do("GET", "/v1/users?"+tc.query, "")
		if code != 422 {
			t.Errorf("%s: %d %s, want 422", tc.query, code, body)
			continue
		}
		if e := decodeError(t, body); e.Code != tc.code || e.Meta["param_name"] != tc.param {
			t.Errorf("%s: %+v, want %s about %s", tc.query, e, tc.code, tc.param)
		}
	}
	// starting_after with every created_at ordering is fine.
	for _, order := range []string{"", "created_at", "%2Bcreated_at", "-created_at"} {
		if code, _, body := r.do("GET", "/v1/users?order_by="+order+"&starting_after="+id, ""); code != 200 {
			t.Errorf("order_by=%s with starting_after: %d %s", order, code, body)
		}
	}
}

// The filters take repeated values in both spellings, + and - on ids,
// and the count follows the same filters.
func TestFilters(t *testing.T) {
	r := newRig(t, seeded(40), APIOptions{})
	users := r.in.Users()
	var withEmail []*User
	for _, u := range users {
		if u.PrimaryEmail() != "" {
			withEmail = append(withEmail, u)
		}
	}
	a, b := users[3].ID, users[17].ID
	email := strings.ToUpper(withEmail[2].PrimaryEmail())
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"user_id=" + a + "&user_id=" + b, []string{b, a}},
		{"user_id%5B%5D=" + a + "&user_id%5B%5D=" + b + "&order_by=created_at", []string{a, b}},
		{"user_id=%2B" + a, []string{a}},
		{"email_address=" + url.QueryEscape(email), []string{withEmail[2].ID}},
		{"email_address=nobody@example.com", []string{}},
	} {
		got := r.page(tc.query)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
		_, _, body := r.do("GET", "/v1/users/count?"+tc.query, "")
		if string(body) != `{"object":"total_count","total_count":`+strconv.Itoa(len(tc.want))+`}` {
			t.Errorf("count %s: %s", tc.query, body)
		}
	}
	got := r.page("user_id=-" + a + "&limit=500")
	if len(got) != len(users)-1 || strings.Contains(strings.Join(got, ","), a) {
		t.Errorf("user_id=-%s: %d users", a, len(got))
	}
}

// A missing, malformed or wrong key gets Clerk's 401 bodies, before any
// routing.
func TestAuth(t *testing.T) {
	r := newRig(t, seeded(1), APIOptions{})
	for _, tc := range []struct {
		auth, path, code string
	}{
		{"", "/v1/users", "authorization_header_format_invalid"},
		{"Basic " + testKey, "/v1/users", "authorization_header_format_invalid"},
		{"Bearer ", "/v1/users", "authorization_header_format_invalid"},
		{"Bearer sk_test_wrong", "/v1/users", "clerk_key_invalid"},
		{"Bearer sk_test_wrong", "/v1/nowhere", "clerk_key_invalid"},
	} {
		code, _, body := r.doWith(tc.auth, "GET", tc.path, "")
		if code != 401 {
			t.Errorf("%q: %d %s", tc.auth, code, body)
			continue
		}
		if e := decodeError(t, body); e.Code != tc.code {
			t.Errorf("%q: %+v, want %s", tc.auth, e, tc.code)
		}
	}
	_, _, body := r.doWith("Bearer sk_test_wrong", "GET", "/v1/users", "")
	if e := decodeError(t, body); e.Message != "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct." {
		t.Errorf("clerk_key_invalid message: %q", e.Message)
	}
}

// An unknown user, or path, is Clerk's 404.
func TestNotFound(t *testing.T) {
	r := newRig(t, seeded(1), APIOptions{})
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/users/user_2nope", ""},
		{"PATCH", "/v1/users/user_2nope", `{"first_name":"Ada"}`},
		{"DELETE", "/v1/users/user_2nope", ""},
		{"GET", "/v1/organizations", ""},
	} {
		code, _, body := r.do(tc.method, tc.path, tc.body)
		if code != 404 {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, code, body)
			continue
		}
		if e := decodeError(t, body); e.Code != "resource_not_found" || e.Message != "not found" || e.LongMessage != "Resource not found" {
			t.Errorf("%s %s: %+v", tc.method, tc.path, e)
		}
	}
}

// Writes answer Clerk's objects and refuse what Clerk refuses.
func TestWrites(t *testing.T) {
	r := newRig(t, NewInstance(), APIOptions{})
	code, _, body := r.do("POST", "/v1/users", `{"email_address":["Ada@Example.com"],"first_name":"Ada","public_metadata":{"plan": "pro"},"skip_password_checks":true}`)
	var u struct {
		ID                    string          `json:"id"`
		PrimaryEmailAddressID string          `json:"primary_email_address_id"`
		PublicMetadata        json.RawMessage `json:"public_metadata"`
		UpdatedAt             int64           `json:"updated_at"`
		EmailAddresses        []struct {
			ID           string `json:"id"`
			EmailAddress string `json:"email_address"`
		} `json:"email_addresses"`
	}
	if code != 200 || json.Unmarshal(body, &u) != nil || u.EmailAddresses[0].ID != u.PrimaryEmailAddressID ||
		u.EmailAddresses[0].EmailAddress != "ada@example.com" || string(u.PublicMetadata) != `{"plan":"pro"}` {
		t.Fatalf("create: %d %s", code, body)
	}
	prev := u.UpdatedAt
	for range 3 {
		code, _, body = r.do("PATCH", "/v1/users/"+u.ID, `{"last_name":"Lovelace"}`)
		json.Unmarshal(body, &u)
		if code != 200 || u.UpdatedAt <= prev || u.UpdatedAt > time.Now().UnixMilli()+3 {
			t.Fatalf("update: %d, updated_at %d after %d\n%s", code, u.UpdatedAt, prev, body)
		}
		prev = u.UpdatedAt
	}
	code, _, body = r.do("GET", "/v1/users/"+u.ID, "")
	if code != 200 || !strings.Contains(string(body), `"last_name":"Lovelace"`) {
		t.Fatalf("get: %d %s", code, body)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/v1/users", `{"email_address":["ada@example.com"]}`, 422, "form_identifier_exists"},
		{"POST", "/v1/users", `{"email_address":["b@example.com","B@example.com"]}`, 422, "form_identifier_exists"},
		{"POST", "/v1/users", `{"email_address":["not-an-address"]}`, 422, "form_param_format_invalid"},
		{"POST", "/v1/users", `{"favourite_colour":"blue"}`, 422, "form_param_unknown"},
		{"POST", "/v1/users", `{"public_metadata":[1]}`, 422, "form_param_value_invalid"},
		{"POST", "/v1/users", `{"created_at":"yesterday"}`, 422, "form_param_value_invalid"},
		{"POST", "/v1/users", `{"first_name":`, 400, "request_body_invalid"},
		{"PATCH", "/v1/users/" + u.ID, `{"email_address":["b@example.com"]}`, 422, "form_param_unknown"},
		{"PATCH", "/v1/users/" + u.ID, `{"primary_email_address_id":"idn_2other"}`, 422, "form_param_value_invalid"},
	} {
		code, _, body := r.do(tc.method, tc.path, tc.body)
		if code != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.body, code, body, tc.status)
			continue
		}
		if e := decodeError(t, body); e.Code != tc.code {
			t.Errorf("%s %s: %+v, want %s", tc.method, tc.body, e, tc.code)
		}
	}
	code, _, body = r.do("DELETE", "/v1/users/"+u.ID, "")
	if code != 200 || string(body) != `{"deleted":true,"id":"`+u.ID+`","object":"user"}` {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, _ := r.do("GET", "/v1/users/"+u.ID, ""); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
}

// Under the development limit the 101st request within 10 s is refused
// with 429, Retry-After and Clerk's body.
func TestRateLimit(t *testing.T) {
	r := newRig(t, seeded(1), APIOptions{RateLimit: DevRateLimit})
	for i := range DevRateLimit {
		if code, _, body := r.do("GET", "/v1/users/count", ""); code != 200 {
			t.Fatalf("request %d: %d %s", i+1, code, body)
		}
	}
	code, h, body := r.do("GET", "/v1/users", "")
	if code != 429 {
		t.Fatalf("request %d: %d %s", DevRateLimit+1, code, body)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 || s > 10 {
		t.Errorf("Retry-After %q", h.Get("Retry-After"))
	}
	if e := decodeError(t, body); e.Code != "too_many_requests" || e.Message != "Too many requests" {
		t.Errorf("429 body %+v", e)
	}
}

func TestWindow(t *testing.T) {
	w := newWindow(3, 10*time.Second)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if _, ok := w.allow(t0.Add(time.Duration(i) * time.Second)); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	if wait, ok := w.allow(t0.Add(9 * time.Second)); ok || wait != time.Second {
		t.Fatalf("4th request at 9 s: allowed %v, wait %s; want refused, 1s", ok, wait)
	}
	if _, ok := w.allow(t0.Add(10 * time.Second)); !ok {
		t.Fatal("the first request aged out at 10 s, yet the next is refused")
	}
	if wait, ok := w.allow(t0.Add(10 * time.Second)); ok || wait != time.Second {
		t.Fatalf("after the window slid by one: allowed %v, wait %s", ok, wait)
	}
}

// --fail answers 500 with Clerk's body; --latency delays every answer.
func TestFaults(t *testing.T) {
	r := newRig(t, seeded(1), APIOptions{Fail: 1})
	code, _, body := r.do("GET", "/v1/users", "")
	if code != 500 || decodeError(t, body).Code != "internal_clerk_error" {
		t.Fatalf("fail: %d %s", code, body)
	}
	half := newRig(t, seeded(1), APIOptions{Fail: 0.5, Seed: 3})
	failed := 0
	for range 200 {
		if code, _, _ := half.do("GET", "/v1/users/count", ""); code == 500 {
			failed++
		}
	}
	if failed < 60 || failed > 140 {
		t.Errorf("--fail 0.5: %d of 200 failed", failed)
	}
	slow := newRig(t, seeded(1), APIOptions{Latency: 80 * time.Millisecond})
	start := time.Now()
	slow.do("GET", "/v1/users", "")
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("--latency 80ms answered in %s", d)
	}
}

// A listed user is byte for byte what GET /v1/users/{id} answers, and
// what the user's webhooks carry.
func TestListedUserIsTheObject(t *testing.T) {
	r := newRig(t, seeded(20), APIOptions{})
	_, _, body := r.do("GET", "/v1/users?limit=20", "")
	var page []json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil || len(page) != 20 {
		t.Fatalf("page: %d users, %v", len(page), err)
	}
	for _, raw := range page {
		var u struct{ ID string }
		json.Unmarshal(raw, &u)
		_, _, one := r.do("GET", "/v1/users/"+u.ID, "")
		if string(raw) != string(one) {
			t.Fatalf("listed:\n%s\nGET:\n%s", raw, one)
		}
	}
}
