package fakeclerk

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkList pages through 100,000 users with the cursor, 500 a page,
// over real HTTP with no rate limit: the fake's own ceiling for a backfill.
func BenchmarkList(b *testing.B) {
	const n = 100_000
	in := seeded(n)
	r := newRig(b, in, APIOptions{})
	users := in.Users()
	get := func(after string) {
		q := "/v1/users?limit=500&order_by=created_at"
		if after != "" {
			q += "&starting_after=" + after
		}
		hr, _ := http.NewRequest("GET", r.url+q, nil)
		hr.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ResetTimer()
	page := 0
	for b.Loop() {
		after := ""
		if page > 0 {
			after = users[page*500-1].ID
		}
		get(after)
		page = (page + 1) % (n / 500)
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "users/s")
}
