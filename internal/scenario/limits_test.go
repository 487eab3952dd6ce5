package scenario

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// A plan that would pass MaxDeliveries, duplicates included, is refused
// with a message that says what to do, before it is laid out.
func TestPlanTooLarge(t *testing.T) {
	manySends := `{"name":"big","steps":[{"name":"a","event":"user.created","count":3}],"send":["a"` +
		strings.Repeat(`,"a"`, MaxDeliveries/3) + `]}`
	for _, tc := range []struct {
		name      string
		json      string
		duplicate int
	}{
		{"send order repeating a step", manySends, 0},
		{"duplicates alone", steps(`{"name":"a","event":"user.created"}`), MaxDeliveries},
		{"events and duplicates", steps(`{"name":"a","event":"user.created","count":5}`), MaxDeliveries - 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(1)
			opts.Duplicate, opts.Rand = tc.duplicate, rand.New(rand.NewPCG(1, 2))
			_, err := mustParse(t, tc.json).Plan(context.Background(), opts)
			checkError(t, err, ErrInvalid, []string{"more than 20000 deliveries", "mockclerk send --count"})
		})
	}
	opts := testOptions(1)
	opts.Duplicate, opts.Rand = MaxDeliveries-5, rand.New(rand.NewPCG(1, 2))
	if p, err := mustParse(t, steps(`{"name":"a","event":"user.created","count":5}`)).Plan(context.Background(), opts); err != nil || len(p.Events) != MaxDeliveries {
		t.Errorf("at the cap: %d deliveries, %v", len(p.Events), err)
	}
}

// Planning stops at the next event once its context ends.
func TestPlanCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	opts := testOptions(1)
	opts.Now = func() time.Time {
		if calls++; calls == 100 {
			cancel()
		}
		return now
	}
	s := mustParse(t, steps(`{"name":"a","event":"user.created","count":10000,"set":{"public_metadata.at":"${.now}"}}`))
	p, err := s.Plan(ctx, opts)
	if !errors.Is(err, context.Canceled) || len(p.Events) != 0 {
		t.Fatalf("Plan = %d deliveries, %v; want context.Canceled", len(p.Events), err)
	}
	if calls != 100 {
		t.Errorf("%d events generated after the cancel", calls-100)
	}
}

// redeliver keeps the original order, puts every copy after its original,
// and lays out a million copies of a million events in one pass.
func TestRedeliver(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, copies int }{{1, 5}, {10, 0}, {10, 30}, {0, 3}, {1_000_000, 1_000_000}} {
		events := make([]int, tc.n)
		for i := range events {
			events[i] = i
		}
		out := redeliver(slices.Clone(events), tc.copies, r)
		want := tc.n + tc.copies
		if tc.n == 0 {
			want = 0
		}
		if len(out) != want {
			t.Fatalf("n=%d copies=%d: %d out", tc.n, tc.copies, len(out))
		}
		seen := make([]bool, tc.n)
		next := 0 // the next original expected
		for _, v := range out {
			switch {
			case !seen[v] && v == next:
				seen[v] = true
				next++
			case !seen[v]:
				t.Fatalf("n=%d: %d comes before its original (expected %d)", tc.n, v, next)
			}
		}
	}
}
