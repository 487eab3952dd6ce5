// Command clerk-sync (built from cmd/sync; never install it as a bare
// `sync`, which would shadow the system command) receives Clerk's user
// webhooks and keeps a users table in step with them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/clerk-sync/clerk-sync/internal/config"
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The log, the ndjson stream and the tunnel's instructions are written
	// from several goroutines; a writer need not be safe for that.
	var mu sync.Mutex
	stdout, stderr = lockedWriter{&mu, stdout}, lockedWriter{&mu, stderr}
	cmd := newRootCmd(stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	// A flag's error repeats its value, which may be a secret typed in the
	// wrong place.
	fmt.Fprintln(stderr, "clerk-sync:", config.RedactIn(".", err.Error()))
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tuneGC trades memory for CPU unless the environment says otherwise. The
// receiver's live heap is a few MB and its garbage is per request, so
// collecting at 4× instead of 2× the live heap saves CPU for the
// deliveries. The soft limit bounds what that trade may cost: under a
// flood of large bodies the heap is collected sooner rather than growing
// four-fold, and once the flood is over the runtime returns what is above
// the limit to the system instead of keeping it for the next one.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// memoryLimit is the runtime's soft memory limit unless GOMEMLIMIT is set.
const memoryLimit = 48 << 20
