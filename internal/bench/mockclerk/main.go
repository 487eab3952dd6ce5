// Command mockclerk is `task bench:mockclerk`: it builds mockclerk, runs
// `mockclerk send` against a receiver that answers 200 at once, and
// reports mockclerk's throughput and peak resident memory (VmHWM), to show
// that a long run is a stream: memory stays flat however many deliveries.
//
//	go run ./internal/bench/mockclerk [-count 1000000] [-concurrency 16] [-max-rss-mb 100]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/bench/proc"
	"github.com/clerk-sync/clerk-sync/internal/fake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:mockclerk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("bench:mockclerk", flag.ContinueOnError)
	count := fl.Int("count", 1_000_000, "deliveries to send")
	concurrency := fl.Int("concurrency", 16, "mockclerk's --concurrency")
	event := fl.String("event", "user.updated", "event type: user.updated acts on one user throughout, the hardest case for the generator")
	maxRSS := fl.Int("max-rss-mb", 100, "fail when mockclerk's peak RSS passes this many MiB (0: report only)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-mockclerk-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "mockclerk")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/clerk-sync/clerk-sync/cmd/mockclerk").CombinedOutput(); err != nil {
		return fmt.Errorf("building mockclerk: %w\n%s", err, out)
	}
	url, received, stopReceiver, err := receiver()
	if err != nil {
		return err
	}
	defer stopReceiver()

	cmd := exec.CommandContext(ctx, bin, "send", *event, "--user", "user_2benchmarkbenchmarkbenchm", "--count", strconv.Itoa(*count),
		"--concurrency", strconv.Itoa(*concurrency), "--output", "ndjson", "--to", url)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CLERK_WEBHOOK_SIGNING_SECRET="+fake.NewSecret(), "CLERK_WEBHOOK_SECRET=",
		"MOCKCLERK_STATE="+filepath.Join(dir, "state.json"), "CLERK_SYNC_CACHE_DIR="+dir)
	var summary bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &summary
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting mockclerk: %w", err)
	}
	peak := watchPeak(cmd.Process.Pid)
	runErr := cmd.Wait()
	elapsed := time.Since(start)
	hwm := peak()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		hwm = max(hwm, ru.Maxrss) // KiB on Linux: the same high-water mark, read at exit
	}
	if runErr != nil {
		return fmt.Errorf("mockclerk: %w\n%s", runErr, summary.String())
	}
	// CPU time per delivery says more than deliveries/s on a shared machine.
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	fmt.Fprintf(stdout, "mockclerk send %s --count %d --concurrency %d: %d received in %s, %.0f deliveries/s, %s CPU per delivery, peak RSS %.1f MiB (VmHWM)\n",
		*event, *count, *concurrency, received.Load(), elapsed.Round(time.Millisecond), float64(*count)/elapsed.Seconds(),
		(cpu / time.Duration(*count)).Round(100*time.Nanosecond), float64(hwm)/1024)
	fmt.Fprintf(stdout, "mockclerk: %s", summary.String())
	if *maxRSS > 0 && hwm > int64(*maxRSS)*1024 {
		return fmt.Errorf("peak RSS %.1f MiB is over -max-rss-mb %d", float64(hwm)/1024, *maxRSS)
	}
	return nil
}

// receiver starts a server that reads each body and answers 200 at once,
// and returns its URL and a count of the requests it got.
func receiver() (url string, received *atomic.Int64, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, fmt.Errorf("receiver: %w", err)
	}
	received = new(atomic.Int64)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // a sink
		received.Add(1)
		w.Write([]byte(`{"outcome":"applied"}`)) //nolint:errcheck // the sender's problem
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return "http://" + ln.Addr().String() + "/api/webhooks/clerk", received, func() { srv.Close() }, nil
}

// watchPeak polls the process's VmHWM until it exits; the returned
// function gives the highest value seen, in KiB.
func watchPeak(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := proc.Status(pid, "VmHWM:")
			if err != nil {
				return // the process has gone
			}
			peak.Store(max(peak.Load(), b>>10))
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		return peak.Load()
	}
}
