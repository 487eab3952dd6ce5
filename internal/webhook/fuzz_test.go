package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clerk-sync/clerk-sync/fixtures"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
	"github.com/clerk-sync/clerk-sync/internal/syncer"
)

// FuzzHandler throws arbitrary bodies and svix headers at the handler in
// front of a real SQLite store. When sign is true the input is signed with
// the right secret, so that the fuzzer reaches the decoder and the store;
// skew moves the timestamp around the tolerance. Whatever comes in, the
// handler answers with a status of the contract and a JSON outcome, and
// only a signed delivery can succeed.
func FuzzHandler(f *testing.F) {
	now := time.Now()
	f.Add([]byte(vectorBody), vectorID, int64(0), vectorSignature, true)
	f.Add([]byte(`{"type":"user.created","data":{"id":"user_1","updated_at":1}}`), "msg_1", int64(0), "", true)
	f.Add([]byte(`{"type":"user.deleted","timestamp":1,"data":{}}`), "msg_2", int64(-301), "v1,AAAA", false)
	// Organizations and memberships reach the rules between kinds.
	for i, t := range []string{"organization.created", "organization.deleted", "organizationMembership.created", "organizationMembership.deleted"} {
		body, err := fixtures.Event(t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, fmt.Sprintf("msg_org_%d", i), int64(0), "", true)
	}

	st, err := sqlite.Open(f.Context(), filepath.Join(f.TempDir(), "fuzz.db"), mapping.Default())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	secret, _ := ParseSecret(vectorSecret)
	v, err := NewVerifier(secret)
	if err != nil {
		f.Fatal(err)
	}
	v.now = func() time.Time { return now }
	h := NewHandler(v, syncer.New(st), Options{MaxBody: 64 << 10})
	signer, err := fake.NewSigner(vectorSecret)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte, id string, skew int64, signature string, sign bool) {
		ts := now.Add(time.Duration(skew%900) * time.Second)
		header := http.Header{}
		header.Set("svix-id", id)
		header.Set("svix-timestamp", strconv.FormatInt(ts.Unix(), 10))
		if sign && id != "" {
			signed, err := signer.Sign(id, ts, body)
			if err != nil {
				t.Fatal(err)
			}
			signature = signed.Get("svix-signature")
		}
		header.Set("svix-signature", signature)
		req := httptest.NewRequest(http.MethodPost, "/api/webhooks/clerk", strings.NewReader(string(body)))
		req.Header = header
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		var ans Answer
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.Outcome == "" {
			t.Fatalf("%d answer %q is not an outcome: %v", rec.Code, rec.Body.String(), err)
		}
		if !slices.Contains([]int{200, 400, 413, 500, 503}, rec.Code) {
			t.Fatalf("status %d is not in the contract", rec.Code)
		}
		if rec.Code == 200 {
			if !sign {
				t.Fatalf("an unsigned delivery was accepted: %+v", ans)
			}
			if !slices.Contains([]string{"applied", "duplicate", "stale", "ignored"}, ans.Outcome) {
				t.Fatalf("200 with outcome %q", ans.Outcome)
			}
		}
		if rec.Code >= 500 {
			t.Fatalf("the store failed on fuzzed input: %d %+v", rec.Code, ans)
		}
	})
}
