// Command bench is `task bench`: it builds the receiver, runs it against a
// durable throwaway PostgreSQL and against SQLite, fires a generated
// stream of signed deliveries at it from 1, 16 and 64 concurrent senders,
// checks the final users table row by row, and measures the PostgreSQL
// ceiling of the same statements with pgbench in the same run.
//
//	go run ./internal/bench [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/bench/prisma"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/load"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/storetest"
)

// webhookPath is the receiver's default webhook path.
const webhookPath = "/api/webhooks/clerk"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config holds the flags.
type config struct {
	stores      []string
	concurrency []int
	deliveries  int
	users       int
	dup, delete float64
	seed        uint64
	keep        bool
	table       string // "default", or a Prisma-made table of storetest
	variants    []variant
	hostile     *hostileConfig
	baseline    string // a git ref whose receiver runs beside this one
	repeat      int    // runs of each measurement, builds alternating
	orgs        int    // organizations in the workload
	members     int    // memberships per organization
	inspector   *inspectorConfig
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stores := fs.String("stores", "postgres,sqlite", "stores to measure, comma-separated: postgres, sqlite, pgbouncer (PostgreSQL through PgBouncer in transaction mode, a pool of 20, ?pgbouncer=true)")
	conc := fs.String("concurrency", "1,16,64", "numbers of concurrent senders, comma-separated")
	fs.IntVar(&c.deliveries, "deliveries", 20000, "deliveries per run, duplicates included")
	fs.IntVar(&c.users, "users", 2000, "users; each is created once, so 2000 gives about 10/80/10% created/updated/deleted, 9500 gives 50/40/10%")
	fs.Float64Var(&c.dup, "dup", 0.05, "share of deliveries that repeat an earlier one (same svix-id, bytes and headers)")
	fs.Float64Var(&c.delete, "delete", 0.10, "share of unique deliveries that are user.deleted (at most one per user)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generated workload")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (receiver logs, SQLite files, pgbench script)")
	retention := fs.String("retention", "", `measure each run twice, keeping the whole ledger and then pruning it: "bodies,ids" windows such as "2s,5s"`)
	hostile := fs.Bool("hostile", false, "instead: the hostile-load benchmark (1,000 slow unsigned 1 MiB bodies while 16 senders deliver valid events), with the inspector off and on; prints peak RSS and RSS after")
	hc := hostileConfig{}
	fs.IntVar(&hc.attackers, "attackers", 1000, "-hostile: connections sending unsigned bodies")
	fs.IntVar(&hc.body, "attack-body", 1<<20, "-hostile: bytes of each unsigned body")
	fs.DurationVar(&hc.pace, "attack-pace", 20*time.Second, "-hostile: how long each unsigned body takes to send")
	fs.DurationVar(&hc.minAttack, "attack-for", 30*time.Second, "-hostile: the attack lasts at least this long")
	fs.StringVar(&hc.modes, "inspector", "off,on", "-hostile: runs without (off) and with (on) the inspector, comma-separated")
	fs.IntVar(&hc.valid, "valid", 2000, "-hostile: valid deliveries, each a new user")
	fs.IntVar(&hc.senders, "valid-senders", 16, "-hostile: concurrent senders of the valid deliveries")
	fs.DurationVar(&hc.settle, "settle", 20*time.Second, "-hostile: how long to watch the memory after the attack")
	fs.StringVar(&c.baseline, "baseline", "", "also measure the receiver built from this git ref (e.g. HEAD~3, a tag), each run beside this tree's, to compare within one run")
	fs.IntVar(&c.repeat, "repeat", 1, "run each measurement this many times (with -baseline, the two builds alternate), to see the machine's noise")
	fs.IntVar(&c.orgs, "orgs", 0, "organizations in the workload (a mixed stream): each created, updated once, 10% deleted, with -members memberships each")
	fs.IntVar(&c.members, "members", 5, "-orgs: memberships per organization (users drawn at random), each created and its role changed once")
	cost := fs.Bool("inspector-cost", false, "instead: what the inspector costs the receiver: mockclerk send user.created headless, headless on a terminal, and with the inspector open, in turn, on SQLite")
	ic := inspectorConfig{}
	fs.IntVar(&ic.count, "send-count", 2000, "-inspector-cost: deliveries per send")
	fs.IntVar(&ic.senders, "send-concurrency", 16, "-inspector-cost: concurrent senders")
	fs.IntVar(&ic.rounds, "rounds", 2, "-inspector-cost: sends in each of the three modes")
	fs.StringVar(&c.table, "table", "default", `users table: "default" (clerk-sync's own), or a table as Prisma creates it with its clerk-sync.yaml: "seed-plan" or "snake"`)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./internal/bench [flags]

Builds bin/clerk-sync, starts it against a fresh database for every store and
sender count (PostgreSQL: a throwaway durable cluster; SQLite: a temporary
file), fires the same shuffled, signed workload at it, checks the final users
table against the generator's expected rows, and prints one table with
deliveries/s, latency, the receiver's peak RSS and, for PostgreSQL, the pgbench
ceiling of the same three statements at the same client count.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *hostile {
		hc.keep = c.keep
		c.hostile = &hc
	}
	if *cost {
		ic.keep = c.keep
		c.inspector = &ic
	}
	for s := range strings.SplitSeq(*stores, ",") {
		if s != "postgres" && s != "sqlite" && s != "pgbouncer" {
			return c, fmt.Errorf("-stores: unknown store %q (want postgres, sqlite or pgbouncer)", s)
		}
		c.stores = append(c.stores, s)
	}
	for s := range strings.SplitSeq(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return c, fmt.Errorf("-concurrency: %q is not a positive number", s)
		}
		c.concurrency = append(c.concurrency, n)
	}
	if c.table != "default" {
		if _, err := storetest.PrismaTableNamed(c.table, mapping.SQLite); err != nil {
			return c, fmt.Errorf("-table: %w", err)
		}
	}
	var err error
	if c.variants, err = variants(*retention); err != nil {
		return c, err
	}
	if c.repeat < 1 {
		return c, errors.New("-repeat must be at least 1")
	}
	if c.orgs < 0 || c.members < 0 || c.members > c.users {
		return c, errors.New("-orgs must be at least 0, and -members between 0 and -users")
	}
	if c.dup < 0 || c.dup >= 1 || c.delete < 0 || c.delete > 1 {
		return c, errors.New("-dup must be in [0, 1) and -delete in [0, 1]")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	began, loadAvg := time.Now(), loadAverage()
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.hostile != nil {
		return runHostile(ctx, *cfg.hostile, stdout)
	}
	if cfg.inspector != nil {
		return runInspectorCost(ctx, *cfg.inspector, stdout)
	}
	bin, tmp, done, err := workspace(ctx, "clerk-sync-bench-*", cfg.keep, stdout)
	if err != nil {
		return err
	}
	defer done()
	builds := []receiverBuild{{"", bin, false}}
	if cfg.baseline != "" {
		fmt.Fprintln(stdout, "building the receiver of", cfg.baseline)
		old, err := buildRef(ctx, cfg.baseline, tmp)
		if err != nil {
			return err
		}
		builds = []receiverBuild{{cfg.baseline, old, true}, {"this tree", bin, false}}
	}
	// The seed plan's email is required: its workload has no phone-only users.
	w, err := generate(cfg.seed, cfg.deliveries, cfg.users, cfg.dup, cfg.delete, cfg.table == "seed-plan")
	if err != nil {
		return err
	}
	w.addOrgs(cfg.seed, cfg.orgs, cfg.members)
	fmt.Fprintln(stdout, "workload:", w.mix())
	fmt.Fprintln(stdout, "users table:", cfg.table)

	var cl *pgtest.Cluster
	var pgSettings []string
	if slices.Contains(cfg.stores, "postgres") || slices.Contains(cfg.stores, "pgbouncer") {
		fmt.Fprintln(stdout, "starting a durable throwaway PostgreSQL")
		cl, err = pgtest.Start(ctx, pgtest.Options{Durable: true, Settings: map[string]string{
			"max_connections": "300", "shared_buffers": "256MB",
		}})
		if err != nil {
			return fmt.Errorf("start postgres: %w", err)
		}
		defer cl.Stop()
		if pgSettings, err = settings(ctx, cl, "server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections"); err != nil {
			return err
		}
	}

	var results []result
	for _, st := range cfg.stores {
		for _, n := range cfg.concurrency {
			for _, v := range cfg.variants {
				for rep := range cfg.repeat {
					for _, b := range builds {
						r, err := measure(ctx, cfg, b, tmp, cl, w, st, n, v, rep)
						if err != nil {
							return err
						}
						fmt.Fprintln(stdout, r.progress())
						results = append(results, r)
					}
				}
			}
		}
	}
	fmt.Fprintln(stdout)
	printMachine(stdout, loadAvg, pgSettings)
	printTable(stdout, results)
	printRetention(stdout, results)
	fmt.Fprintf(stdout, "\nwhole run: %s\n", time.Since(began).Round(time.Second))
	return nil
}

// result is one row of the table.
type result struct {
	build   string // the baseline's git ref, "this tree", or "" without -baseline
	store   string
	senders int
	stats   load.Stats
	rss     int64                                    // bytes; 0 when it could not be read
	cpu     struct{ receiver, sender time.Duration } // CPU time used while firing
	check   string                                   // "exact" or the counts of wrong rows
	ceiling float64                                  // pgbench tps at the same client count; 0 when not measured
	variant variant
	ledger  ledger // read when the run has a variant
	notes   []string
}

// measure runs the workload once against a fresh database of one store.
func measure(ctx context.Context, cfg config, b receiverBuild, tmp string, cl *pgtest.Cluster, w *workload, storeName string, senders int, v variant, rep int) (result, error) {
	r := result{build: b.name, store: storeName, senders: senders, variant: v}
	bin := b.bin
	name := fmt.Sprintf("%s_c%d", storeName, senders)
	if rep > 0 {
		name += fmt.Sprintf("_r%d", rep)
	}
	if b.name != "" {
		name += "_" + strings.Map(func(c rune) rune {
			if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
				return c
			}
			return '_'
		}, strings.ToLower(b.name))
	}
	pruned := v.keep != (store.Retention{})
	if pruned {
		name += "_pruned"
	}
	db := filepath.Join(tmp, name+".db")
	driver := storeName // how the database is reached, not the store
	if storeName == "postgres" || storeName == "pgbouncer" {
		driver = "postgres"
		var err error
		if db, err = freshPostgres(ctx, cl, name); err != nil {
			return r, err
		}
	}
	receiverDB := db // the checks read the database directly
	if storeName == "pgbouncer" {
		through, stop, err := pgtest.StartBouncer(db, 20)
		if err != nil {
			return r, err
		}
		defer stop()
		receiverDB = through + "&pgbouncer=true"
	}
	m, args, err := prisma.Prepare(ctx, cfg.table, driver, db, filepath.Join(tmp, name+".yaml"))
	if err != nil {
		return r, err
	}
	logPath := filepath.Join(tmp, name+".log")
	secret := fake.NewSecret()
	rcv, err := startReceiver(bin, tmp, logPath, receiverDB, secret, append(args, v.args...)...)
	if err != nil {
		return r, err
	}
	defer rcv.stop()
	if err := rcv.waitReady(ctx, logPath); err != nil {
		return r, err
	}
	// Signed now: the receiver refuses timestamps older than 5 minutes.
	ds, err := w.sign(secret, time.Now())
	if err != nil {
		return r, err
	}
	rcvCPU, _ := rcv.cpuTime()
	ownCPU := selfCPU()
	r.stats, err = load.Run(ctx, rcv.base+webhookPath, ds, load.Options{Concurrency: senders})
	if err != nil {
		return r, fmt.Errorf("fire %s: %w", name, err)
	}
	r.cpu.sender = selfCPU() - ownCPU
	if cpu, err := rcv.cpuTime(); err == nil {
		r.cpu.receiver = cpu - rcvCPU
	}
	if r.stats.Errors > 0 {
		r.note("%d requests without an answer, first: %v", r.stats.Errors, r.stats.FirstErr)
	}
	if n := r.stats.Non2xx(); n > 0 {
		r.note("non-2xx answers: %v (receiver log: %s)", r.stats.Status, logPath)
	}
	if v.name != "" {
		v.settle(ctx)
		if r.ledger, err = readLedger(ctx, driver, db, v.keep); err != nil {
			return r, fmt.Errorf("read the ledger of %s: %w", name, err)
		}
	}
	if r.rss, err = rcv.peakRSS(); err != nil {
		r.note("%v", err)
	}
	if err := rcv.stop(); err != nil {
		r.note("receiver did not exit cleanly on SIGTERM: %v (log: %s)", err, logPath)
	}
	if r.check, err = checkTable(ctx, db, m, storetest.Rows(m, w.users...), &r); err != nil {
		return r, err
	}
	if len(w.orgs) > 0 && !b.baseline { // the baseline may know no organizations
		if err := checkOrgs(ctx, db, m, w, &r); err != nil {
			return r, err
		}
	}
	if storeName == "postgres" && !pruned && !b.baseline && rep == 0 { // once per sender count
		if r.ceiling, err = ceiling(ctx, cl, tmp, senders, cfg.users, w.updateBody()); err != nil {
			return r, err
		}
	}
	return r, nil
}

// selfCPU returns the CPU time this process has used, user plus system:
// the senders share the machine with the receiver and the database.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r *result) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// checkTable compares the users table of db with want, exactly, and notes
// the first differences.
func checkTable(ctx context.Context, db string, m mapping.Mapping, want []store.User, r *result) (string, error) {
	st, _, err := server.OpenView(ctx, db, m)
	if err != nil {
		return "", fmt.Errorf("open %s for the table check: %w", r.store, err)
	}
	defer st.Close()
	got, err := st.Users(ctx)
	if err != nil {
		return "", fmt.Errorf("read users for the table check: %w", err)
	}
	diff := storetest.DiffUsers(got, want)
	if diff == "" {
		return "exact", nil
	}
	lines := strings.Split(strings.TrimSpace(diff), "\n")
	count := func(prefix string) int {
		return len(slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return !strings.HasPrefix(l, prefix) }))
	}
	r.note("table differs (%d rows read, %d expected); first differences:\n    %s",
		len(got), len(want), strings.Join(lines[:min(len(lines), 6)], "\n    "))
	return fmt.Sprintf("%d wrong, %d missing, %d extra", count("got "), count("missing "), count("extra ")), nil
}

// checkOrgs compares the organizations and memberships tables of db with
// what the workload implies, exactly, and adds the result to r.check.
func checkOrgs(ctx context.Context, db string, m mapping.Mapping, w *workload, r *result) error {
	st, _, err := server.OpenStore(ctx, db, m)
	if err != nil {
		return fmt.Errorf("open %s for the table check: %w", r.store, err)
	}
	defer st.Close()
	for kind, want := range map[store.Kind][]store.User{store.KindOrganization: w.orgRows(m), store.KindMembership: w.memberRows(m)} {
		got, err := st.Rows(ctx, kind)
		if err != nil {
			return fmt.Errorf("read %ss for the table check: %w", kind, err)
		}
		if diff := storetest.DiffUsers(got, want); diff != "" {
			lines := strings.Split(strings.TrimSpace(diff), "\n")
			r.note("%ss table differs (%d rows read, %d expected); first differences:\n    %s",
				kind, len(got), len(want), strings.Join(lines[:min(len(lines), 6)], "\n    "))
			r.check += ", " + string(kind) + "s differ"
		}
	}
	r.check += fmt.Sprintf(" (+%d orgs, %d memberships)", len(w.orgRows(m)), len(w.memberRows(m)))
	return nil
}
