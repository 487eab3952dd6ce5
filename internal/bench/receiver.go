package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/bench/proc"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
)

// binary is where the receiver is built, relative to the module root. Never
// a bare "sync", which would shadow the system command.
const binary = "bin/clerk-sync"

// build compiles cmd/sync into root/bin/clerk-sync and returns its path.
func build(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/sync")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build receiver: %w\n%s", err, out)
	}
	return filepath.Join(root, binary), nil
}

// receiverBuild is a receiver binary to measure, named after its git ref.
type receiverBuild struct {
	name     string // "" when only this tree is measured
	bin      string
	baseline bool // the -baseline ref's
}

// buildRef builds the receiver at the git ref into dir, from a
// temporary worktree.
func buildRef(ctx context.Context, ref, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	tree := filepath.Join(dir, "baseline-src")
	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := git("worktree", "add", "--detach", tree, ref); err != nil {
		return "", fmt.Errorf("-baseline %s: %w", ref, err)
	}
	defer git("worktree", "remove", "--force", tree) //nolint:errcheck // a leftover worktree is pruned by git later
	bin := filepath.Join(dir, "clerk-sync-baseline")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sync")
	cmd.Dir = tree
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the receiver of %s: %w\n%s", ref, err, out)
	}
	return bin, nil
}

// workspace makes a temporary directory (named after pattern) and builds
// the receiver; done removes the directory, or with keep names it.
func workspace(ctx context.Context, pattern string, keep bool, stdout io.Writer) (bin, tmp string, done func(), err error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", "", nil, err
	}
	if tmp, err = os.MkdirTemp("", pattern); err != nil {
		return "", "", nil, fmt.Errorf("create temporary directory: %w", err)
	}
	done = func() { os.RemoveAll(tmp) }
	if keep {
		done = func() { fmt.Fprintln(stdout, "kept", tmp) }
	}
	fmt.Fprintln(stdout, "building", binary)
	if bin, err = build(ctx, root); err != nil {
		done()
		return "", "", nil, err
	}
	return bin, tmp, done, nil
}

// moduleRoot returns the directory of go.mod, so that the bench runs from
// anywhere inside the module.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find the module root (run inside the repository): %v", err)
	}
	return filepath.Dir(gomod), nil
}

// receiver is a running clerk-sync child process.
type receiver struct {
	cmd    *exec.Cmd
	pid    int    // clerk-sync's own: cmd's, or under script(1) its child's
	base   string // http://127.0.0.1:port
	exited chan struct{}
	err    error // Wait's result, set when exited closes
}

// startReceiver starts bin on db with secret, logging to logPath at the
// default level (one line per delivery: part of the real cost). It runs in
// dir so that no .env file of the developer's sneaks in.
func startReceiver(bin, dir, logPath, db, secret string, args ...string) (*receiver, error) {
	return startIn(false, bin, dir, logPath, db, secret, args...)
}

// startAlone is startReceiver in a session of its own, as a receiver run
// from a terminal of its own is. Linux's autogroup scheduler shares the
// CPU between sessions: a receiver in the benchmark's session shares its
// part with the senders, and one started on a pseudo-terminal by script(1)
// (which starts a session) does not. Comparing the two measured that
// difference (10–17% of the throughput here), not the inspector's cost.
func startAlone(bin, dir, logPath, db, secret string, args ...string) (*receiver, error) {
	return startIn(true, bin, dir, logPath, db, secret, args...)
}

func startIn(session bool, bin, dir, logPath, db, secret string, args ...string) (*receiver, error) {
	port, err := pgtest.FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create receiver log: %w", err)
	}
	defer logf.Close() // the child has its own copy
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, append([]string{"--addr", addr, "--db", db}, args...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.Env = append(cleanEnv("CLERK_", "DATABASE_URL"), "CLERK_WEBHOOK_SIGNING_SECRET="+secret)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: session}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start receiver: %w", err)
	}
	r := &receiver{cmd: cmd, pid: cmd.Process.Pid, base: "http://" + addr, exited: make(chan struct{})}
	go func() { r.err = cmd.Wait(); close(r.exited) }()
	return r, nil
}

// waitReady polls GET /readyz until the receiver answers 200.
func (r *receiver) waitReady(ctx context.Context, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.exited:
			return fmt.Errorf("receiver exited before it was ready (%v); see %s", r.err, logPath)
		case <-ctx.Done():
			return fmt.Errorf("wait for %s/readyz: %w; see %s", r.base, ctx.Err(), logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// peakRSS returns the child's peak resident set size in bytes (VmHWM).
func (r *receiver) peakRSS() (int64, error) { return r.status("VmHWM:") }

// status returns a size in bytes from the child's /proc status, e.g.
// "VmRSS:" (resident now) or "VmHWM:" (the peak).
func (r *receiver) status(field string) (int64, error) { return proc.Status(r.pid, field) }

// cpuTime returns the CPU time the child has used so far, user plus
// system.
func (r *receiver) cpuTime() (time.Duration, error) { return proc.CPUTime(r.pid) }

// stop sends SIGTERM, which drains the deliveries in flight, and kills the
// child if it has not exited within 30 s. It is safe to call twice.
func (r *receiver) stop() error {
	select {
	case <-r.exited:
		return r.err
	default:
	}
	_ = syscall.Kill(r.pid, syscall.SIGTERM)
	select {
	case <-r.exited:
		return r.err
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
		return errors.New("stop receiver: killed after 30 s without exiting on SIGTERM")
	}
}

// cleanEnv is our environment without the variables that start with any
// of prefixes, so that a developer's settings cannot redirect a child.
func cleanEnv(prefixes ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(kv, p) })
	})
}
