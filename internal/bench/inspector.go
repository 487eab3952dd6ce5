package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// inspectorConfig is `-inspector-cost`.
type inspectorConfig struct {
	count, senders, rounds int
	keep                   bool
}

// inspectorMode is how the receiver runs during one send.
type inspectorMode int

const (
	headless  inspectorMode = iota // no terminal, a session of its own: its log to a file
	terminal                       // headless on a pseudo-terminal, its log to a file
	inspector                      // the inspector on a pseudo-terminal
)

var modeNames = [...]string{headless: "off", terminal: "tty", inspector: "on"}

func (m inspectorMode) String() string { return modeNames[m] }

// inspectorResult is one send in one mode.
type inspectorResult struct {
	perSecond float64
	cpu       time.Duration // the receiver's CPU time during the send
	summary   string        // mockclerk's summary line
}

// perSecondRE finds the throughput in mockclerk send's summary line.
var perSecondRE = regexp.MustCompile(`([0-9]+) deliveries/s`)

// runInspectorCost is -inspector-cost: `mockclerk send user.created
// --count N --concurrency C` against the receiver on SQLite, headless,
// headless on a pseudo-terminal, and with the inspector open on one, in
// turn, in one run. The middle one tells what the terminal costs (script(1)
// relaying it) from what the inspector itself costs.
func runInspectorCost(ctx context.Context, ic inspectorConfig, stdout io.Writer) error {
	began, loadAvg := time.Now(), loadAverage()
	bin, tmp, done, err := workspace(ctx, "clerk-sync-inspector-*", ic.keep, stdout)
	if err != nil {
		return err
	}
	defer done()
	mockclerk := filepath.Join(filepath.Dir(bin), "mockclerk")
	build := exec.CommandContext(ctx, "go", "build", "-o", mockclerk, "./cmd/mockclerk")
	build.Dir = filepath.Dir(filepath.Dir(bin))
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build mockclerk: %w\n%s", err, out)
	}
	fmt.Fprintf(stdout, "mockclerk send user.created --count %d --concurrency %d: headless (off), headless on a terminal (tty) and the inspector (on), %d round(s)\n", ic.count, ic.senders, ic.rounds)
	modes := []inspectorMode{headless, terminal, inspector}
	rs := make([][]inspectorResult, ic.rounds)
	for round := range ic.rounds {
		rs[round] = make([]inspectorResult, len(modes))
		// Each round starts with another mode, so that none always
		// follows the same one.
		for i := range modes {
			mode := modes[(round+i)%len(modes)]
			r, err := inspectorOnce(ctx, ic, bin, mockclerk, tmp, round, mode)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "round %d, %-3s %s; receiver CPU %s\n", round+1, mode, r.summary, r.cpu)
			rs[round][mode] = r
		}
	}
	fmt.Fprintln(stdout)
	printMachine(stdout, loadAvg, nil)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\toff /s\ttty /s\ton /s\ton ÷ off\ton ÷ tty\toff CPU µs/delivery\ttty CPU µs/delivery\ton CPU µs/delivery\t")
	sum := make([]inspectorResult, len(modes))
	row := func(name string, r []inspectorResult, n float64) {
		us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ic.count) / n }
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f%%\t%.0f%%\t%.0f\t%.0f\t%.0f\t\n", name,
			r[headless].perSecond/n, r[terminal].perSecond/n, r[inspector].perSecond/n,
			100*r[inspector].perSecond/r[headless].perSecond, 100*r[inspector].perSecond/r[terminal].perSecond,
			us(r[headless].cpu), us(r[terminal].cpu), us(r[inspector].cpu))
	}
	for i, r := range rs {
		row(strconv.Itoa(i+1), r, 1)
		for m := range sum {
			sum[m].perSecond += r[m].perSecond
			sum[m].cpu += r[m].cpu
		}
	}
	if ic.rounds > 1 {
		row("all", sum, float64(ic.rounds))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nwhole run: %s\n", time.Since(began).Round(time.Second))
	return nil
}

func inspectorOnce(ctx context.Context, ic inspectorConfig, bin, mockclerk, tmp string, round int, mode inspectorMode) (inspectorResult, error) {
	var r inspectorResult
	name := fmt.Sprintf("round%d-%s", round+1, mode)
	db, logPath := filepath.Join(tmp, name+".db"), filepath.Join(tmp, name+".log")
	secret := fake.NewSecret()
	var (
		rcv *receiver
		err error
	)
	switch mode {
	case headless:
		rcv, err = startAlone(bin, tmp, logPath, db, secret)
	default:
		rcv, err = startOnTerminal(bin, tmp, logPath, db, secret, mode == inspector)
	}
	if err != nil {
		return r, err
	}
	defer rcv.stop()
	if err := rcv.waitReady(ctx, logPath); err != nil {
		return r, err
	}
	send := exec.CommandContext(ctx, mockclerk, "send", "user.created", "--count", strconv.Itoa(ic.count),
		"--concurrency", strconv.Itoa(ic.senders), "--to", rcv.base+webhookPath)
	send.Dir = tmp
	send.Env = append(cleanEnv("CLERK_", "MOCKCLERK_"), "CLERK_WEBHOOK_SIGNING_SECRET="+secret, "CLERK_SYNC_CACHE_DIR="+tmp)
	cpu0, err := rcv.cpuTime()
	if err != nil {
		return r, err
	}
	out, err := send.CombinedOutput()
	cpu1, cerr := rcv.cpuTime()
	r.cpu = cpu1 - cpu0
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	r.summary = lines[len(lines)-1]
	if err := errors.Join(err, cerr); err != nil {
		return r, fmt.Errorf("mockclerk send (%s): %w\n%s", mode, err, r.summary)
	}
	m := perSecondRE.FindStringSubmatch(r.summary)
	if m == nil {
		return r, fmt.Errorf("no deliveries/s in mockclerk's summary %q", r.summary)
	}
	r.perSecond, _ = strconv.ParseFloat(m[1], 64)
	return r, rcv.stop()
}
