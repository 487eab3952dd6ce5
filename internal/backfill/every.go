package backfill

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// Summary is one reconcile run in the background: when, what it found,
// what it repaired.
type Summary struct {
	At       time.Time     `json:"at"` // when it began
	Elapsed  time.Duration `json:"elapsed"`
	InClerk  int           `json:"in_clerk"`
	InTable  int           `json:"in_table"`
	Missing  int           `json:"missing"`
	Behind   int           `json:"behind"`
	Gone     int           `json:"gone"`
	Repaired int           `json:"repaired"`
	Error    string        `json:"error,omitempty"` // the run failed; what it found before is counted
}

// Drift is how many users drifted from Clerk.
func (s Summary) Drift() int { return s.Missing + s.Behind + s.Gone }

// summarize counts a report.
func summarize(at time.Time, rep Report, err error) Summary {
	return Summary{
		At: at, Elapsed: time.Since(at), InClerk: rep.InClerk, InTable: rep.InTable,
		Missing: rep.Count(Missing), Behind: rep.Count(Behind), Gone: rep.Count(Gone),
		Repaired: len(rep.Drift) - rep.Unrepaired(), Error: errText(err),
	}
}

// RetryFailed is the longest wait after a failed run: a Clerk outage or
// a database restart should not leave the table unchecked for a whole
// period.
const RetryFailed = 5 * time.Minute

// PeriodicJob names the store.Jobs state that keeps the last run, a
// Summary in JSON: a receiver restarted more often than its period still
// reconciles, replicas sharing one database space their runs, and any
// process that opens the database can show the last run.
const PeriodicJob = "reconcile:users"

// Periodic runs Reconcile with Apply every period, inside the receiver.
type Periodic struct {
	src   Source
	dst   Table
	every time.Duration
	log   *slog.Logger

	mu    sync.Mutex
	last  *Summary
	onRun func(Summary)
}

// NewPeriodic returns a Periodic that repairs dst from src every period.
func NewPeriodic(src Source, dst Table, every time.Duration, log *slog.Logger) *Periodic {
	return &Periodic{src: src, dst: dst, every: every, log: log}
}

// OnRun has fn hear of every run as it ends (the inspector); it may be
// called while p runs.
func (p *Periodic) OnRun(fn func(Summary)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onRun = fn
}

// Last returns the last run, this process's or, before its first, the
// one the database remembers; false when none ran yet.
func (p *Periodic) Last() (Summary, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		return Summary{}, false
	}
	return *p.last, true
}

// Run reconciles one period after the last run, this process's or
// another's (at once when there was none, or it is overdue), and then
// every period, until ctx ends.
func (p *Periodic) Run(ctx context.Context) {
	for {
		p.load(ctx)
		if last, ok := p.Last(); ok {
			// A run dated ahead (another replica's clock) waits a period at most.
			if wait := min(time.Until(last.At.Add(p.next(last))), p.every); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				continue // another replica may have run meanwhile
			}
		}
		p.once(ctx)
		if ctx.Err() != nil {
			return
		}
	}
}

// load takes the last run from the database when it is newer than the
// one p knows: another replica's, or one from before a restart.
func (p *Periodic) load(ctx context.Context) {
	saved, err := p.dst.Job(ctx, PeriodicJob)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("reconcile: the last run could not be read", "err", err)
		}
		return
	}
	var s Summary
	if saved == nil || json.Unmarshal(saved, &s) != nil {
		return
	}
	if last, ok := p.Last(); !ok || s.At.After(last.At) {
		p.remember(s)
	}
}

// next is the wait after a run: the period, or less after a failure.
func (p *Periodic) next(s Summary) time.Duration {
	if s.Error != "" {
		return min(p.every, RetryFailed)
	}
	return p.every
}

// once runs one reconcile, logs it, saves and announces it.
func (p *Periodic) once(ctx context.Context) {
	at := time.Now()
	rep, err := Reconcile(ctx, p.src, p.dst, ReconcileOptions{Apply: true})
	if ctx.Err() != nil {
		return // stopping: not a run that failed
	}
	s := summarize(at, rep, err)
	attrs := []any{"in_clerk", s.InClerk, "rows", s.InTable, "missing", s.Missing, "behind", s.Behind, "gone", s.Gone,
		"repaired", s.Repaired, "elapsed_ms", s.Elapsed.Milliseconds(), "next", at.Add(p.next(s)).Format(time.RFC3339)}
	switch {
	case err != nil:
		p.log.Warn("reconcile failed", append(attrs, "err", err)...)
	case s.Repaired < s.Drift():
		p.log.Warn("reconcile: drift left unrepaired", attrs...)
	default:
		p.log.Info("reconcile", attrs...)
	}
	state, _ := json.Marshal(s)
	if err := p.dst.SaveJob(ctx, PeriodicJob, state); err != nil {
		p.log.Warn("reconcile: the run could not be saved; the next restart runs it again", "err", err)
	}
	if fn := p.remember(s); fn != nil {
		fn(s)
	}
}

// remember keeps s as the last run and returns who hears of runs.
func (p *Periodic) remember(s Summary) func(Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = &s
	return p.onRun
}
