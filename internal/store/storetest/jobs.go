package storetest

import (
	"context"
	"testing"

	"github.com/clerk-sync/clerk-sync/internal/store"
)

func runJobs(t *testing.T, h Harness) {
	st, _ := h.Open(t, store.HardDelete)
	ctx := context.Background()
	read := func(name string) string {
		t.Helper()
		b, err := st.Job(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return "<none>"
		}
		return string(b)
	}
	save := func(name string, state []byte) {
		t.Helper()
		if err := st.SaveJob(ctx, name, state); err != nil {
			t.Fatal(err)
		}
	}
	if got := read("backfill"); got != "<none>" {
		t.Fatalf("a new database holds job state %q", got)
	}
	save("backfill", []byte(`{"after":"user_1"}`))
	save("other", []byte(`{}`))
	save("backfill", []byte(`{"after":"user_2"}`))
	if got := read("backfill"); got != `{"after":"user_2"}` {
		t.Fatalf("job state %q after an overwrite", got)
	}
	save("backfill", nil)
	if got, other := read("backfill"), read("other"); got != "<none>" || other != `{}` {
		t.Fatalf("after removing backfill: backfill %q, other %q", got, other)
	}
}
