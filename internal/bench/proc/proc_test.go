package proc

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// The test's own process: a peak at least what is resident now, both
// above the 64 MiB held here, and CPU time that grows while it spins.
func TestOwnProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = 1
	}
	pid := os.Getpid()
	rss, err := Status(pid, "VmRSS:")
	if err != nil {
		t.Fatal(err)
	}
	peak, err := Status(pid, "VmHWM:")
	if err != nil {
		t.Fatal(err)
	}
	if rss < 64<<20 || peak < rss {
		t.Errorf("VmRSS %d, VmHWM %d bytes; want VmRSS ≥ 64 MiB and VmHWM ≥ VmRSS", rss, peak)
	}
	runtime.KeepAlive(hold)

	before, err := CPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the CPU time has grown by 100 ms: on a busy machine that
	// takes longer than 100 ms of the clock, but never 20 s.
	deadline := time.Now().Add(20 * time.Second)
	for {
		after, err := CPUTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		if after-before >= 100*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time grew by %s in 20 s of spinning, want 100 ms", after-before)
		}
		for start := time.Now(); time.Since(start) < 10*time.Millisecond; {
		}
	}
}

func TestMissing(t *testing.T) {
	if _, err := Status(os.Getpid(), "NoSuchField:"); err == nil {
		t.Error("Status of a field /proc does not have: nil error")
	}
	// Pids are below 2^22 on Linux.
	if _, err := Status(1<<30, "VmRSS:"); err == nil {
		t.Error("Status of a process that does not exist: nil error")
	}
	if _, err := CPUTime(1 << 30); err == nil {
		t.Error("CPUTime of a process that does not exist: nil error")
	}
}
