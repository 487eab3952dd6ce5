//go:build unix

package fakeclerk

import (
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// BenchmarkList pages through 100,000 users with the cursor, 500 a page,
// over real HTTP with no rate limit: the fake's own ceiling for a backfill.
// users/s depends on what else the machine runs; cpu-µs/user (the process's
// CPU time, the client's small share included) does not.
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
	cpu0 := cpuTime()
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
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*500), "cpu-µs/user")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
