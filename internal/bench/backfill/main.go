// Command backfill is `task bench:backfill`: it starts `mockclerk serve`
// with 100,000 users in a process of its own, then times `clerk-sync
// backfill` from it into a durable throwaway PostgreSQL and into SQLite,
// under Clerk's production and development rate limits, into clerk-sync's
// own table and into an app's table as Prisma made it (through
// clerk-sync.yaml), and reports users/s and the backfill's peak resident
// memory.
//
//	go run ./internal/bench/backfill [-users 100000] [-stores postgres,sqlite] [-limits prod,dev] [-tables default,snake]
package main

import (
	"context"
	"errors"
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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/clerk-sync/clerk-sync/internal/bench/prisma"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:backfill:", err)
		os.Exit(1)
	}
}

// limits are mockclerk's --rate-limit values, each with the API's bound
// (requests per second) and the --rate that clerk-sync backfill is given:
// the whole budget but 2%, so that it meets no 429.
var limits = map[string]struct{ bound, rate float64 }{"prod": {100, 98}, "dev": {10, 9.8}}

type result struct {
	store, limit, table string
	users               int64
	elapsed             time.Duration
	rssMiB              float64
	err                 error
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("bench:backfill", flag.ContinueOnError)
	users := fl.Int("users", 100_000, "users in the fake instance")
	storeList := fl.String("stores", "postgres,sqlite", "stores, comma-separated")
	limitList := fl.String("limits", "prod,dev", "mockclerk rate limits, comma-separated: prod (1,000 requests per 10 s), dev (100)")
	tableList := fl.String("tables", "default,snake", `users tables, comma-separated: "default" (clerk-sync's own), or an app's table as Prisma creates it, with its clerk-sync.yaml: "snake" (@@map, uuid key, Json, soft delete) or "seed-plan" (cuid key; its required unique email refuses phone-only users)`)
	if err := fl.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-backfill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, b := range []string{"mockclerk", "sync"} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, b), "github.com/clerk-sync/clerk-sync/cmd/"+b).CombinedOutput()
		if err != nil {
			return fmt.Errorf("build %s: %w\n%s", b, err, out)
		}
	}
	env := append(os.Environ(), "CLERK_SECRET_KEY="+fakeclerk.NewSecretKey(), "CLERK_SYNC_CACHE_DIR="+dir, "DATABASE_URL=")
	var cl *pgtest.Cluster
	if strings.Contains(*storeList, "postgres") {
		fmt.Fprintln(stdout, "starting a durable throwaway PostgreSQL")
		if cl, err = pgtest.Start(ctx, pgtest.Options{Durable: true, Settings: map[string]string{"shared_buffers": "256MB"}}); err != nil {
			return err
		}
		defer cl.Stop()
	}
	var results []result
	for limit := range strings.SplitSeq(*limitList, ",") {
		l, ok := limits[limit]
		if !ok {
			return fmt.Errorf("-limits: unknown %q (want prod or dev)", limit)
		}
		api, stopServe, err := serve(ctx, dir, env, *users, limit)
		if err != nil {
			return err
		}
		for st := range strings.SplitSeq(*storeList, ",") {
			for table := range strings.SplitSeq(*tableList, ",") {
				name := strings.ReplaceAll(limit+"_"+table, "-", "_")
				db := filepath.Join(dir, name+".db")
				if st == "postgres" {
					if db, err = cl.CreateDatabase(ctx, "backfill_"+name); err != nil {
						stopServe()
						return err
					}
				}
				_, args, err := prisma.Prepare(ctx, table, st, db, filepath.Join(dir, name+".yaml"))
				if err != nil {
					stopServe()
					return fmt.Errorf("-tables %s: %w", table, err)
				}
				r := backfill(ctx, dir, env, api, db, strconv.FormatFloat(l.rate, 'f', -1, 64), args)
				r.store, r.limit, r.table = st, limit, table
				fmt.Fprintf(stdout, "%s, table %s, rate limit %s: %d users in %s (%v)\n", st, table, limit, r.users, r.elapsed.Round(time.Millisecond), r.err)
				results = append(results, r)
			}
		}
		stopServe()
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\ttable\trate limit\tusers\tseconds\tusers/s\tAPI bound users/s\tpeak RSS MiB\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.0f\t%.0f\t%.1f\t\n", r.store, r.table, r.limit, r.users, r.elapsed.Seconds(),
			float64(r.users)/r.elapsed.Seconds(), limits[r.limit].bound*500, r.rssMiB)
	}
	return tw.Flush()
}

// serve starts mockclerk serve with n users and waits until it answers.
func serve(ctx context.Context, dir string, env []string, n int, limit string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "mockclerk"), "serve", "--addr", addr, "--users", strconv.Itoa(n),
		"--rate-limit", limit, "--webhook-url", "")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() } //nolint:errcheck // stopping
	base := "http://" + addr
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/v1/users/count"); err == nil {
			resp.Body.Close()
			return base, stop, nil
		}
	}
	stop()
	return "", nil, errors.New("mockclerk serve did not answer within 2 minutes")
}

// backfill runs clerk-sync backfill once, with args added, and measures
// it.
func backfill(ctx context.Context, dir string, env []string, api, db, rate string, args []string) result {
	args = append([]string{"backfill", "--api-url", api, "--db", db, "--rate", rate, "--output", "ndjson"}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "sync"), args...)
	cmd.Dir, cmd.Env = dir, env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	start := time.Now()
	err := cmd.Run()
	r := result{elapsed: time.Since(start)}
	if err != nil {
		r.err = fmt.Errorf("%w: %s", err, out.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssMiB = float64(ru.Maxrss) / 1024
	}
	// The summary line: "N users read, …". A user that could not be
	// applied makes the command fail.
	for line := range strings.SplitSeq(out.String(), "\n") {
		if n, _, ok := strings.Cut(line, " users read"); ok {
			r.users, _ = strconv.ParseInt(n, 10, 64)
		}
	}
	return r
}
