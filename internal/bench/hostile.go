package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
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
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
)

// hostileConfig is the attack of `-hostile`.
type hostileConfig struct {
	attackers int           // connections sending unsigned bodies
	body      int           // bytes each of them declares and sends
	pace      time.Duration // how long each takes to send its body
	valid     int           // valid deliveries, each a new user
	senders   int           // concurrent senders of the valid ones
	minAttack time.Duration // the attack lasts at least this long
	settle    time.Duration // how long to watch the memory come back
	modes     string        // "off,on": without and with the inspector
	keep      bool          // keep the temporary directory (logs)
}

// hostileResult is one run of the attack: with the inspector or without.
type hostileResult struct {
	inspector   bool
	stats       load.Stats // of the valid deliveries, retries included
	attempts    int64      // of the valid deliveries
	rows        int
	attack      map[string]int // attackers' answers by status, or "cut"
	peak        int64          // VmHWM, bytes
	after       int64          // VmRSS at the end of settle, bytes
	underAfter  time.Duration  // how long after the attack VmRSS fell under 80 MB; -1: never
	attackTime  time.Duration
	receiverLog string
}

// runHostile is -hostile: the receiver under 1,000 connections that send
// large unsigned bodies slowly, while valid deliveries go on, once
// without and once with the inspector.
func runHostile(ctx context.Context, hc hostileConfig, stdout io.Writer) error {
	began, loadAvg := time.Now(), loadAverage()
	bin, tmp, done, err := workspace(ctx, "clerk-sync-hostile-*", hc.keep, stdout)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(stdout, "attack: %d connections, each sending an unsigned %d-byte body over %s (reconnecting when cut), at least %s; meanwhile %d senders deliver %d signed user.created events (retried as Svix does, compressed)\n",
		hc.attackers, hc.body, hc.pace, hc.minAttack, hc.senders, hc.valid)
	var rs []hostileResult
	for mode := range strings.SplitSeq(hc.modes, ",") {
		if mode != "off" && mode != "on" {
			return fmt.Errorf("-inspector: %q is neither off nor on", mode)
		}
		inspector := mode == "on"
		r, err := hostileOnce(ctx, hc, bin, tmp, inspector)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, r.progress())
		rs = append(rs, r)
	}
	fmt.Fprintln(stdout)
	printMachine(stdout, loadAvg, nil)
	printHostile(stdout, rs, hc)
	fmt.Fprintf(stdout, "\nwhole run: %s\n", time.Since(began).Round(time.Second))
	return nil
}

func hostileOnce(ctx context.Context, hc hostileConfig, bin, tmp string, inspector bool) (hostileResult, error) {
	r := hostileResult{inspector: inspector, attack: map[string]int{}, underAfter: -1}
	name := "headless"
	if inspector {
		name = "inspector"
	}
	db := filepath.Join(tmp, name+".db")
	r.receiverLog = filepath.Join(tmp, name+".log")
	secret := fake.NewSecret()
	var (
		rcv *receiver
		err error
	)
	if inspector {
		rcv, err = startInspector(bin, tmp, r.receiverLog, db, secret)
	} else {
		rcv, err = startAlone(bin, tmp, r.receiverLog, db, secret)
	}
	if err != nil {
		return r, err
	}
	defer rcv.stop()
	if err := rcv.waitReady(ctx, r.receiverLog); err != nil {
		return r, err
	}
	signer, err := fake.NewSigner(secret)
	if err != nil {
		return r, err
	}
	g := fake.New(1, time.Now())
	ds := make([]fake.Delivery, hc.valid)
	for i := range ds {
		if ds[i], err = g.Deliver(signer, g.Created(g.NewUser()), time.Now()); err != nil {
			return r, err
		}
	}

	attackCtx, stopAttack := context.WithCancel(ctx)
	defer stopAttack()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	addr := strings.TrimPrefix(rcv.base, "http://")
	start := time.Now()
	for i := range hc.attackers {
		wg.Go(func() {
			for attackCtx.Err() == nil {
				got := attackOnce(attackCtx, addr, hc.body, hc.pace)
				mu.Lock()
				r.attack[got]++
				mu.Unlock()
				// Back off as the 503's Retry-After asks, give or take.
				sleep(attackCtx, time.Duration(750+i%500)*time.Millisecond)
			}
		})
	}
	sleep(ctx, 2*time.Second) // the attack is in full swing
	fmt.Fprintf(os.Stderr, "%s: attack under way; valid deliveries start\n", name)

	dv := &fake.Deliverer{Client: load.Client(hc.senders, 30*time.Second), URL: rcv.base + webhookPath, Signer: signer, Schedule: fake.FastSchedule,
		OnAttempt: func(fake.Delivery, fake.Attempt) { atomic.AddInt64(&r.attempts, 1) }}
	r.stats, err = load.Each(ctx, slices.Values(ds), load.Options{Concurrency: hc.senders}, func(ctx context.Context, d fake.Delivery) load.Result {
		t0 := time.Now()
		a := dv.Deliver(ctx, d)
		return load.Result{Latency: time.Since(t0), Status: a.Response.Status, Outcome: a.Response.Outcome, Err: a.Err}
	})
	if err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "%s: valid deliveries done after %s\n", name, time.Since(start).Round(time.Second))
	sleep(ctx, hc.minAttack-time.Since(start))
	stopAttack()
	wg.Wait()
	r.attackTime = time.Since(start)

	ended := time.Now()
	for time.Since(ended) < hc.settle && ctx.Err() == nil {
		if rss, err := rcv.status("VmRSS:"); err == nil {
			r.after = rss
			if rss < 80<<20 && r.underAfter < 0 {
				r.underAfter = time.Since(ended)
			}
		}
		sleep(ctx, 250*time.Millisecond)
	}
	if r.peak, err = rcv.status("VmHWM:"); err != nil {
		return r, err
	}
	if err := rcv.stop(); err != nil {
		return r, fmt.Errorf("receiver did not stop cleanly: %w (log: %s)", err, r.receiverLog)
	}
	view, _, err := server.OpenView(ctx, db, mapping.Default())
	if err != nil {
		return r, err
	}
	defer view.Close()
	users, err := view.Users(ctx)
	r.rows = len(users)
	return r, err
}

// attackOnce sends one unsigned body of size bytes over pace, with svix
// headers that pass every check made before the body, and returns the
// answer's status, or "cut" when the receiver closed the connection first.
func attackOnce(ctx context.Context, addr string, size int, pace time.Duration) string {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "dial error"
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sig := make([]byte, 32)
	rand.Read(sig)
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"svix-id: msg_hostile%x\r\nsvix-timestamp: %d\r\nsvix-signature: v1,%s\r\n\r\n",
		webhookPath, addr, size, sig[:8], time.Now().Unix(), base64.StdEncoding.EncodeToString(sig))
	if _, err := io.WriteString(c, head); err != nil {
		return "cut"
	}
	answer := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answer <- "cut"
			return
		}
		resp.Body.Close()
		answer <- strconv.Itoa(resp.StatusCode)
	}()
	const chunk = 16 << 10
	every := pace / time.Duration((size+chunk-1)/chunk)
	buf := make([]byte, chunk)
	for sent := 0; sent < size; sent += chunk {
		if _, err := c.Write(buf[:min(chunk, size-sent)]); err != nil {
			break
		}
		select {
		case got := <-answer:
			return got
		case <-time.After(every):
		}
	}
	select {
	case got := <-answer:
		return got
	case <-time.After(15 * time.Second):
		return "no answer"
	}
}

// startInspector starts bin with --tui on a pseudo-terminal of 120×40
// (script(1)), as `task dev` does, and finds the receiver's own process.
func startInspector(bin, dir, logPath, db, secret string) (*receiver, error) {
	return startOnTerminal(bin, dir, logPath, db, secret, true)
}

// startOnTerminal starts bin on a pseudo-terminal of 120×40 under
// script(1): with the inspector (tui), or headless with its log sent to
// logPath, which measures what the terminal alone costs.
func startOnTerminal(bin, dir, logPath, db, secret string, tui bool) (*receiver, error) {
	port, err := pgtest.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	line := fmt.Sprintf("stty rows 40 cols 120; exec %s --tui --addr %s --db %s", shellQuote(bin), addr, shellQuote(db))
	if !tui {
		line = fmt.Sprintf("stty rows 40 cols 120; exec %s --addr %s --db %s >>%s 2>&1", shellQuote(bin), addr, shellQuote(db), shellQuote(logPath))
	}
	cmd := exec.Command("script", "-qfec", line, "/dev/null")
	logf, err := os.Create(logPath + ".screen")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	// The inspector's log file goes to dir; stdin stays open, or script
	// would end the session.
	cmd.Env = append(cleanEnv("CLERK_", "DATABASE_URL"), "CLERK_WEBHOOK_SIGNING_SECRET="+secret, "CLERK_SYNC_CACHE_DIR="+dir, "TERM=xterm-256color")
	if _, err := cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the inspector under script(1) (util-linux): %w", err)
	}
	r := &receiver{cmd: cmd, base: "http://" + addr, exited: make(chan struct{})}
	go func() { r.err = cmd.Wait(); close(r.exited) }()
	for range 100 {
		if pid := descendant(cmd.Process.Pid, filepath.Base(bin)); pid > 0 {
			r.pid = pid
			return r, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	return nil, errors.New("the inspector's process did not start under script(1); see " + logPath + ".screen")
}

// descendant returns the pid of the first process named comm below pid.
func descendant(pid int, comm string) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(b)) {
		child, _ := strconv.Atoi(f)
		if name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child)); strings.TrimSpace(string(name)) == comm {
			return child
		}
		if p := descendant(child, comm); p > 0 {
			return p
		}
	}
	return 0
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (r hostileResult) mode() string {
	if r.inspector {
		return "inspector on"
	}
	return "inspector off"
}

func (r hostileResult) progress() string {
	return fmt.Sprintf("%-13s valid: %v in %d attempts, %d rows; attackers' answers: %v over %s",
		r.mode(), r.stats.Outcomes, r.attempts, r.rows, r.attack, r.attackTime.Round(time.Second))
}

// printHostile prints the table of -hostile and what it checks.
func printHostile(w io.Writer, rs []hostileResult, hc hostileConfig) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "inspector\tvalid applied\trows\tattempts\tvalid p99 ms\tattack requests\tpeak RSS MB\tRSS after MB\tunder 80 MB after\tverdict\t")
	mb := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	for _, r := range rs {
		total := 0
		for _, n := range r.attack {
			total += n
		}
		under := "never"
		if r.underAfter >= 0 {
			under = r.underAfter.Round(250 * time.Millisecond).String()
		}
		verdict := "ok"
		switch {
		case r.stats.Outcomes["applied"]+r.stats.Outcomes["duplicate"] != hc.valid || r.rows != hc.valid:
			verdict = "FAIL: valid deliveries lost"
		case r.peak > 150<<20:
			verdict = "FAIL: peak over 150 MB"
		case r.underAfter < 0:
			verdict = "FAIL: not back under 80 MB"
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%d\t%.1f\t%d\t%s\t%s\t%s\t%s\t\n", r.mode(), r.stats.Outcomes["applied"]+r.stats.Outcomes["duplicate"], hc.valid,
			r.rows, r.attempts, float64(r.stats.P99.Microseconds())/1000, total, mb(r.peak), mb(r.after), under, verdict)
	}
	tw.Flush()
}
