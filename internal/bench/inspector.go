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

// inspectorResult is one send: with the inspector open or without.
type inspectorResult struct {
	inspector bool
	perSecond float64
	cpu       time.Duration // the receiver's CPU time during the send
	summary   string        // mockclerk's summary line
}

// perSecondRE finds the throughput in mockclerk send's summary line.
var perSecondRE = regexp.MustCompile(`([0-9]+) deliveries/s`)

// runInspectorCost is -inspector-cost: `mockclerk send user.created
// --count N --concurrency C` against the receiver on SQLite, headless and
// with the inspector open on a pseudo-terminal, alternating, in one run.
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
	fmt.Fprintf(stdout, "mockclerk send user.created --count %d --concurrency %d, inspector off and on, %d round(s)\n", ic.count, ic.senders, ic.rounds)
	var rs []inspectorResult
	for round := range ic.rounds {
		for _, on := range []bool{false, true} {
			r, err := inspectorOnce(ctx, ic, bin, mockclerk, tmp, round, on)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "round %d, inspector %-3s %s; receiver CPU %s\n", round+1, onOff(on), r.summary, r.cpu)
			rs = append(rs, r)
		}
	}
	fmt.Fprintln(stdout)
	printMachine(stdout, loadAvg, nil)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\toff /s\ton /s\ton ÷ off\toff CPU µs/delivery\ton CPU µs/delivery\t")
	var off, on float64
	var offCPU, onCPU time.Duration
	perDelivery := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ic.count) }
	for i := 0; i+1 < len(rs); i += 2 {
		off, on = off+rs[i].perSecond, on+rs[i+1].perSecond
		offCPU, onCPU = offCPU+rs[i].cpu, onCPU+rs[i+1].cpu
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f%%\t%.0f\t%.0f\t\n", i/2+1, rs[i].perSecond, rs[i+1].perSecond, 100*rs[i+1].perSecond/rs[i].perSecond,
			perDelivery(rs[i].cpu), perDelivery(rs[i+1].cpu))
	}
	if len(rs) > 2 {
		n := float64(ic.rounds)
		fmt.Fprintf(tw, "all\t%.0f\t%.0f\t%.0f%%\t%.0f\t%.0f\t\n", off/n, on/n, 100*on/off, perDelivery(offCPU)/n, perDelivery(onCPU)/n)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nwhole run: %s\n", time.Since(began).Round(time.Second))
	return nil
}

func inspectorOnce(ctx context.Context, ic inspectorConfig, bin, mockclerk, tmp string, round int, on bool) (inspectorResult, error) {
	r := inspectorResult{inspector: on}
	name := fmt.Sprintf("round%d-%s", round+1, onOff(on))
	db, logPath := filepath.Join(tmp, name+".db"), filepath.Join(tmp, name+".log")
	secret := fake.NewSecret()
	var (
		rcv *receiver
		err error
	)
	if on {
		rcv, err = startInspector(bin, tmp, logPath, db, secret)
	} else {
		rcv, err = startReceiver(bin, tmp, logPath, db, secret)
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
		return r, fmt.Errorf("mockclerk send (inspector %s): %w\n%s", onOff(on), err, r.summary)
	}
	m := perSecondRE.FindStringSubmatch(r.summary)
	if m == nil {
		return r, fmt.Errorf("no deliveries/s in mockclerk's summary %q", r.summary)
	}
	r.perSecond, _ = strconv.ParseFloat(m[1], 64)
	return r, rcv.stop()
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
