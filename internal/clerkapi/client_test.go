package clerkapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/clerkapi"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
)

const key = "sk_test_clientTestKey000000000000"

func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Every user once, whether the instance takes the cursor or not.
func TestEachPageFallsBackToOffsets(t *testing.T) {
	in := fakeclerk.NewInstance()
	in.Seed(230, 2)
	api := fakeclerk.NewAPI(in, fakeclerk.APIOptions{Key: key})
	cursorRefused := 0
	noCursor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("starting_after") {
			cursorRefused++
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"errors":[{"message":"is invalid","long_message":"starting_after is not supported","code":"form_param_value_invalid"}]}`))
			return
		}
		api.ServeHTTP(w, r)
	})
	for name, h := range map[string]http.Handler{"cursor": api, "offsets": noCursor} {
		t.Run(name, func(t *testing.T) {
			c, err := clerkapi.New(key, serve(t, h), clerkapi.Options{Rate: 1000})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			pages := 0
			err = c.EachPage(context.Background(), clerkapi.Cursor{}, 50, func(p clerkapi.Page, _ clerkapi.Cursor) error {
				pages++
				for _, raw := range p {
					seen[gjson.GetBytes(raw, "id").Str]++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != 230 || pages != 5 {
				t.Fatalf("%d users in %d pages, want 230 in 5", len(seen), pages)
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("%s listed %d times", id, n)
				}
			}
		})
	}
	if cursorRefused != 1 {
		t.Fatalf("the cursor was tried %d times after its refusal, want once", cursorRefused)
	}
}

// Clerk's refusals read as a sentence that says what to check, never as
// the whole JSON answer, and never with the key.
func TestErrorsSayWhatToCheck(t *testing.T) {
	in := fakeclerk.NewInstance()
	url := serve(t, fakeclerk.NewAPI(in, fakeclerk.APIOptions{Key: key}))
	wrong := "sk_test_wrongKey00000000000000000"
	c, err := clerkapi.New(wrong, url, clerkapi.Options{Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CountUsers(context.Background())
	var apiErr *clerkapi.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("a wrong key: %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "CLERK_SECRET_KEY") || strings.Contains(msg, "{") || strings.Contains(msg, wrong) {
		t.Fatalf("message %q: want a sentence naming CLERK_SECRET_KEY, no JSON, no key", msg)
	}
	c, _ = clerkapi.New(key, url, clerkapi.Options{Rate: 1000})
	if _, err := c.User(context.Background(), "user_nobody"); !errors.Is(err, clerkapi.ErrNotFound) {
		t.Fatalf("an unknown user: %v, want ErrNotFound", err)
	}
}

func TestCheckKey(t *testing.T) {
	for k, ok := range map[string]bool{
		"": false, "pk_test_abcdefghijkl": false, "sk_test_short": false, "sk_test_abc def ghijkl": false,
		"sk_test_abcdefghijkl": true, "sk_live_abcdefghijkl": true,
	} {
		err := clerkapi.CheckKey(k)
		if (err == nil) != ok {
			t.Errorf("CheckKey(%q) = %v, want ok=%v", k, err, ok)
		}
		if err != nil && k != "" && strings.Contains(err.Error(), k) {
			t.Errorf("CheckKey repeats the key: %v", err)
		}
	}
}

// A page is split into its users' objects byte for byte; a body that is
// not a list of users is an error that says so.
func TestPageUnmarshal(t *testing.T) {
	var p clerkapi.Page
	if err := json.Unmarshal([]byte(` [{"id":"user_a","n":[1, 2]}, {"id":"user_b"}] `), &p); err != nil ||
		len(p) != 2 || string(p[0]) != `{"id":"user_a","n":[1, 2]}` || string(p[1]) != `{"id":"user_b"}` {
		t.Fatalf("page %q, %v", p, err)
	}
	if err := json.Unmarshal([]byte(`{"data":[],"total_count":0}`), &p); err == nil || !strings.Contains(err.Error(), "want a JSON array") {
		t.Fatalf("an object for a page: %v", err)
	}
}
