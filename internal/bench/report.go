package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// progress is the line printed as each run ends.
func (r result) progress() string {
	var outcomes []string
	for _, k := range slices.Sorted(maps.Keys(r.stats.Outcomes)) {
		outcomes = append(outcomes, fmt.Sprintf("%s=%d", k, r.stats.Outcomes[k]))
	}
	name := r.label()
	if r.variant.name != "" {
		name += " (" + r.variant.name + ")"
	}
	line := fmt.Sprintf("%-8s %3d senders: %d sent in %s, %s, table %s; CPU receiver %.1fs, senders %.1fs",
		name, r.senders, r.stats.Sent, r.stats.Elapsed.Round(time.Millisecond), strings.Join(outcomes, " "), r.check,
		r.cpu.receiver.Seconds(), r.cpu.sender.Seconds())
	if r.ceiling > 0 {
		line += fmt.Sprintf(", pgbench %.0f tps", r.ceiling)
	}
	return line
}

// printMachine prints the CPU and the PostgreSQL settings read back from
// the server (name=value pairs in the order settings asked for them).
func printMachine(w io.Writer, loadAvg string, pg []string) {
	fmt.Fprintf(w, "machine: nproc %d, %s, %s/%s, %s; load average before the run: %s\n",
		runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAvg)
	if len(pg) == 6 {
		fmt.Fprintf(w, "postgres %s: fsync=%s synchronous_commit=%s full_page_writes=%s shared_buffers=%s max_connections=%s\n",
			pg[0], pg[1], pg[2], pg[3], pg[4], pg[5])
	}
	fmt.Fprintln(w)
}

// loadAverage returns the 1, 5 and 15 minute load averages: other work on
// the machine skews every figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// printTable prints the results and then each row's notes.
func printTable(w io.Writer, rs []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tsenders\tdeliveries/s\tp50 ms\tp99 ms\tpeak RSS MB\tnon-2xx\ttable\tpgbench tps\tours/ceiling\t")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	for _, r := range rs {
		non2xx := fmt.Sprint(r.stats.Non2xx())
		if r.stats.Errors > 0 {
			non2xx += fmt.Sprintf(" +%d no answer", r.stats.Errors)
		}
		rss, ceil, ratio := "?", "", ""
		if r.rss > 0 {
			rss = fmt.Sprintf("%.1f", float64(r.rss)/(1<<20))
		}
		if r.ceiling > 0 {
			ceil = fmt.Sprintf("%.0f", r.ceiling)
			ratio = fmt.Sprintf("%.0f%%", 100*r.stats.PerSecond/r.ceiling)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.label(), r.senders, r.stats.PerSecond, ms(r.stats.P50), ms(r.stats.P99), rss, non2xx, r.check, ceil, ratio)
	}
	tw.Flush()
	for _, r := range rs {
		for _, n := range r.notes {
			fmt.Fprintf(w, "\n%s, %d senders: %s", r.label(), r.senders, n)
		}
	}
	fmt.Fprintln(w)
}

// label names the run's store, and its build when a baseline is measured.
func (r result) label() string {
	if r.build == "" {
		return r.store
	}
	return r.store + " @ " + r.build
}
