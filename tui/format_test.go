package tui

import (
	"testing"
	"time"
	"unicode/utf8"
)

// Latencies fit their five columns, at the edges of each form too.
func TestLatency(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, none},
		{850 * time.Microsecond, "850µs"},
		{1200 * time.Microsecond, "1.2ms"},
		{9940 * time.Microsecond, "9.9ms"},
		{9970 * time.Microsecond, "10ms"},
		{12 * time.Millisecond, "12ms"},
		{999700 * time.Microsecond, "1.0s"},
		{1200 * time.Millisecond, "1.2s"},
	}
	for _, tt := range tests {
		got := latency(tt.d)
		if got != tt.want || utf8.RuneCountInString(got) > 5 {
			t.Errorf("latency(%v) = %q, want %q in at most 5 columns", tt.d, got, tt.want)
		}
	}
}
