// Package check judges any Clerk webhook handler: it sends each case's
// deliveries the way Svix would (signed, out of order, repeated, retried),
// then reads the handler's tables (users, and organizations and
// memberships when mapped) through the mapping and compares them with
// what Clerk's final state implies. A case passes, passes only
// through retries (each a delay of up to hours in production), or fails
// with the rows and columns that are wrong.
package check

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// Verdict is how a case ended.
type Verdict string

// The verdicts, best first.
const (
	// Pass: the table is right and every delivery was taken at once.
	Pass Verdict = "pass"
	// Retries: the table is right in the end, but deliveries were refused
	// first and only Svix's retries brought them in.
	Retries Verdict = "retries"
	// Fail: the table is wrong, a delivery was never taken, or a delivery
	// that must be refused was not.
	Fail Verdict = "fail"
)

// Expect is what the handler must answer to a delivery.
type Expect int

const (
	// Accept: a 2xx, sooner (pass) or later (retries).
	Accept Expect = iota
	// Refuse: a 4xx at once, and nothing changed. Svix would not send
	// such a delivery, so it is not retried.
	Refuse
)

// Step is one delivery of a case.
type Step struct {
	Delivery fake.Delivery
	Shape    fake.Shape
	Expect   Expect
	// What names the delivery in the report, e.g. "the older user.updated".
	What string
}

// Want is what the table of Kind must hold for one Clerk id after a case.
type Want struct {
	// Kind is the table: "" and store.KindUser are the users'.
	Kind store.Kind
	ID   string
	// Row is the entity as Clerk last sent it; nil when no row may exist
	// (a forged user, or an id that is not a user's).
	Row *store.User
	// Deleted: Clerk deleted the entity (or, for a membership, its
	// organization), so the row is gone (or, with on_delete soft, marked
	// deleted).
	Deleted bool
	// Why names the id in the report when it is not a plain user, or
	// says why a deleted row must be gone.
	Why string
}

// kind is the table the want is about.
func (w Want) kind() store.Kind {
	if w.Kind == "" {
		return store.KindUser
	}
	return w.Kind
}

// Plan is what a case sends and what it expects.
type Plan struct {
	// Waves go out one after another: every delivery of a wave is sent at
	// once, and the next wave starts when each has had its first answer.
	// A refused delivery's retries go on in the background, as Svix's do.
	Waves [][]Step
	Wants []Want
	// Cleanup lists the users to delete when the case is over; Orgs and
	// Members the organizations and memberships, deleted before them.
	Cleanup []*fake.User
	Orgs    []*fake.Org
	Members []*fake.Member
}

// Case is one named check, isolating one failure mode.
type Case struct {
	Name string
	// Proves says in a sentence what a pass shows.
	Proves string
	// Build makes the case's users and deliveries with g.
	Build func(g *fake.Generator) Plan
	// Kinds are the tables beside the users' that the case judges: it
	// means something only when the mapping maps them all.
	Kinds []store.Kind
}

// SvixFast is Svix's schedule of eight attempts with the waits compressed
// from hours to under 5 s in all, so that a case that passes only through
// retries still ends in seconds.
var SvixFast = []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 1600 * time.Millisecond}

// Schedule returns the named retry schedule: svix-fast, svix (Svix's
// real one, about 27 h) or none.
func Schedule(name string) ([]time.Duration, error) {
	switch name {
	case "svix-fast":
		return SvixFast, nil
	case "svix":
		return fake.SvixSchedule, nil
	case "none":
		return fake.NoRetry, nil
	}
	return nil, fmt.Errorf("retry %q: want svix-fast, svix or none", name)
}

// Config is what a run needs.
type Config struct {
	URL      string
	Client   *http.Client
	Signer   *fake.Signer
	Schedule []time.Duration // retries of accepted deliveries
	View     store.View      // the users table
	// Tables are the other kinds' tables that the mapping maps: a case
	// reads those its plan touches.
	Tables   map[store.Kind]store.View
	Mapping  mapping.Mapping
	Keep     bool // leave the case's rows in place
	Parallel int  // cases at once
	Seed     uint64
	// OnResult, when set, sees each result in case order as soon as it and
	// every case before it are done.
	OnResult func(Result)
}

// Attempt is one answer to a delivery, or the error that stood for one.
type Attempt struct {
	Status int    `json:"status,omitempty"`
	Body   string `json:"body,omitempty"` // the start of the answer, or what a JSON answer says of itself
	Error  string `json:"error,omitempty"`
}

// Sent is what became of one delivery.
type Sent struct {
	What     string    `json:"what"`
	Type     string    `json:"type"`
	SvixID   string    `json:"svix_id"`
	Expect   string    `json:"expect"` // "2xx" or "4xx"
	Attempts []Attempt `json:"attempts"`
}

// ok reports whether the delivery ended as it must.
func (s Sent) ok() bool {
	if len(s.Attempts) == 0 {
		return false
	}
	last := s.Attempts[len(s.Attempts)-1]
	if s.Expect == "4xx" {
		return last.Error == "" && last.Status >= 400 && last.Status < 500
	}
	return last.Error == "" && last.Status >= 200 && last.Status < 300
}

// Result is the verdict of one case and why.
type Result struct {
	Case    string  `json:"case"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"` // the first problem, in a sentence
	// Problems lists every delivery answered wrongly and the table's
	// difference, one sentence each.
	Problems []string      `json:"problems,omitempty"`
	Refused  int           `json:"refused"` // attempts refused before a delivery was taken
	Diffs    []Diff        `json:"diffs,omitempty"`
	Sent     []Sent        `json:"deliveries"`
	Elapsed  time.Duration `json:"-"`
	// Cleanup says what was left behind, when anything was.
	Cleanup string `json:"cleanup,omitempty"`
}

// Run runs the cases against cfg.URL and returns a result for each, in
// order. It ends early only when ctx does.
func Run(ctx context.Context, cfg Config, cases []Case) ([]Result, error) {
	results := make([]Result, len(cases))
	done := make([]chan struct{}, len(cases))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, max(cfg.Parallel, 1))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			defer close(done[i])
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			g := fake.New(cfg.Seed+uint64(i)*7919, time.Now())
			g.Profile = fake.ProfileEmailRequired
			results[i] = runCase(ctx, cfg, c, g)
		})
	}
	for i := range cases {
		<-done[i]
		if ctx.Err() == nil && cfg.OnResult != nil {
			cfg.OnResult(results[i])
		}
	}
	wg.Wait()
	return results, ctx.Err()
}

// runCase sends a case's waves, judges the table, then cleans up.
func runCase(ctx context.Context, cfg Config, c Case, g *fake.Generator) Result {
	start := time.Now()
	plan := c.Build(g)
	res := Result{Case: c.Name}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	// Every entry exists before the first send: retries fill them in
	// while later waves go out.
	for _, wave := range plan.Waves {
		for _, st := range wave {
			expect := "2xx"
			if st.Expect == Refuse {
				expect = "4xx"
			}
			res.Sent = append(res.Sent, Sent{What: st.What, Type: st.Delivery.Event.Type, SvixID: st.Delivery.ID, Expect: expect})
		}
	}
	i := -1
	for _, wave := range plan.Waves {
		first := make(chan struct{}, len(wave))
		for _, st := range wave {
			i++
			schedule := cfg.Schedule
			if st.Expect == Refuse {
				schedule = fake.NoRetry
			}
			var once sync.Once
			answered := func() { once.Do(func() { first <- struct{}{} }) }
			dv := fake.Deliverer{Client: cfg.Client, URL: cfg.URL, Signer: cfg.Signer, Shape: st.Shape, Schedule: schedule}
			sent := &res.Sent[i]
			dv.OnAttempt = func(_ fake.Delivery, a fake.Attempt) {
				mu.Lock()
				sent.Attempts = append(sent.Attempts, attempt(a))
				mu.Unlock()
				answered()
			}
			wg.Go(func() {
				defer answered() // also when no attempt could be made
				dv.Deliver(ctx, st.Delivery)
			})
		}
		for range wave {
			select {
			case <-first:
			case <-ctx.Done():
			}
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return res
	}
	rows, err := read(ctx, cfg, plan)
	if err != nil {
		res.Verdict, res.Reason = Fail, fmt.Sprintf("could not read the table: %v", err)
		return res
	}
	for _, kind := range store.Kinds {
		m, _ := cfg.Mapping.For(kind)
		wants := slices.DeleteFunc(slices.Clone(plan.Wants), func(w Want) bool { return w.kind() != kind })
		res.Diffs = append(res.Diffs, Compare(m, wants, rows[kind])...)
	}
	judge(&res)
	if !cfg.Keep {
		res.Cleanup = cleanup(ctx, cfg, g, plan, rows)
	}
	res.Elapsed = time.Since(start)
	return res
}

// attempt keeps what the report needs of one try.
func attempt(a fake.Attempt) Attempt {
	if a.Err != nil {
		return Attempt{Error: a.Err.Error()}
	}
	return Attempt{Status: a.Response.Status, Body: clip(explain(string(a.Response.Body)), 200)}
}

// read reads the users table and the tables of the other kinds that the
// plan wants rows of or cleans up, by kind.
func read(ctx context.Context, cfg Config, plan Plan) (map[store.Kind][]store.User, error) {
	touched := map[store.Kind]bool{store.KindOrganization: len(plan.Orgs) > 0, store.KindMembership: len(plan.Members) > 0}
	for _, w := range plan.Wants {
		touched[w.kind()] = true
	}
	users, err := cfg.View.Users(ctx)
	if err != nil {
		return nil, err
	}
	rows := map[store.Kind][]store.User{store.KindUser: users}
	for _, kind := range []store.Kind{store.KindOrganization, store.KindMembership} {
		v, ok := cfg.Tables[kind]
		switch {
		case !touched[kind]:
		case !ok && slices.ContainsFunc(plan.Wants, func(w Want) bool { return w.kind() == kind }):
			return nil, fmt.Errorf("the mapping has no %s table", mapping.Section(kind))
		case ok:
			if rows[kind], err = v.Users(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", mapping.Section(kind), err)
			}
		}
	}
	return rows, nil
}

// cleanup deletes through the handler, as Clerk would with signed
// deletions, every membership, organization and user of the plan that
// still has a row, in that order (children first, for a handler with
// foreign keys). It says what stayed.
func cleanup(ctx context.Context, cfg Config, g *fake.Generator, plan Plan, rows map[store.Kind][]store.User) string {
	present := map[string]bool{}
	for _, kindRows := range rows {
		for _, r := range kindRows {
			present[r.ClerkID] = !r.Deleted
		}
	}
	var deletions []fake.Event
	for _, m := range plan.Members {
		if present[m.ID] {
			deletions = append(deletions, g.MemberDeleted(m))
		}
	}
	for _, o := range plan.Orgs {
		if present[o.ID] {
			deletions = append(deletions, g.OrgDeleted(o))
		}
	}
	for _, u := range plan.Cleanup {
		if present[u.ID] {
			deletions = append(deletions, g.Deleted(u))
		}
	}
	dv := fake.Deliverer{Client: cfg.Client, URL: cfg.URL, Signer: cfg.Signer, Schedule: fake.NoRetry}
	var left []string
	for _, ev := range deletions {
		if a := dv.Deliver(ctx, g.Unsigned(ev)); !a.OK() {
			left = append(left, ev.Type+" "+gjson.GetBytes(ev.Body, "data.id").String())
		}
	}
	if len(left) == 0 {
		return ""
	}
	slices.Sort(left)
	return fmt.Sprintf("the handler refused the deletions that would remove %d row(s): %v", len(left), left)
}
