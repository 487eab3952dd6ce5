package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/scenario"
)

type scenarioCmd struct {
	fireFlags
	shuffle   bool
	duplicate int
	dryRun    bool
	seed      uint64
}

func newScenarioCmd(stdout, stderr io.Writer) *cobra.Command {
	var c scenarioCmd
	cmd := &cobra.Command{
		Use:   "scenario <name|file.json>",
		Short: "Send a sequence of events with references between steps",
		Long: `scenario generates a sequence of Clerk events in the order Clerk would emit them,
then delivers them in the scenario's own order — which is how Svix really
delivers: late, twice, out of order. Built-ins: ` + strings.Join(scenario.Builtins(), ", ") + `
(mockclerk fixtures describes them). A scenario file is JSON, like Stripe's
fixtures: steps with "name", "event", "user" (or "org" and "membership" for
organization events) and "set", references such as ${created:data.id} and
${.env:VAR|default}, and an optional "send" order.

The run is reproducible with --seed, which the summary prints. A scenario is
planned whole before it is sent, so it may expand to at most ` + strconv.Itoa(scenario.MaxDeliveries) + `
deliveries, duplicates included; for load, use send --count.`,
		Example: `  mockclerk scenario lifecycle
  mockclerk scenario out-of-order --shuffle --duplicate 3
  mockclerk scenario org-deleted-with-members --shuffle --duplicate 2
  MOCKCLERK_BURST=200 mockclerk scenario burst --concurrency 16
  mockclerk scenario ./my-scenario.json --dry-run   # print the signed requests as curl commands
  mockclerk scenario lifecycle --profile email-required`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.run(cmd.Context(), args[0], stdout, stderr)
		},
	}
	fl := cmd.Flags()
	c.register(fl, 1)
	fl.BoolVar(&c.shuffle, "shuffle", false, "deliver in random order")
	fl.IntVar(&c.duplicate, "duplicate", 0, "deliver N random deliveries once more each (same svix-id and bytes)")
	fl.BoolVar(&c.dryRun, "dry-run", false, "print the signed requests as curl commands instead of sending them")
	fl.Uint64Var(&c.seed, "seed", 0, "seed of the generated users and of the shuffle (default: random)")
	return cmd
}

func (c *scenarioCmd) run(ctx context.Context, name string, stdout, stderr io.Writer) error {
	sc, err := scenario.Load(name)
	if errors.Is(err, scenario.ErrUnknown) || errors.Is(err, scenario.ErrInvalid) {
		return usageError("%v", err)
	}
	if err != nil {
		return err
	}
	if c.duplicate < 0 {
		return usageError("--duplicate must be at least 0")
	}
	env, err := c.env()
	if err != nil {
		return err
	}
	dv, rate, err := c.deliverer(env)
	if err != nil {
		return err
	}
	seed := c.seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	ds, _, err := c.plan(ctx, sc, seed, env)
	if errors.Is(err, context.Canceled) {
		return &exitError{code: 130, err: err}
	}
	if err != nil {
		return err
	}
	if c.dryRun {
		for _, d := range ds {
			h, body, err := dv.Shape.Sign(dv.Signer, d, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "# %s %s\n%s\n\n", d.Event.Type, entityID(d), fake.Curl(dv.URL, h, body))
		}
		return nil
	}
	fmt.Fprintf(stdout, "scenario %s: %d deliveries (--seed %d)\n", sc.Name, len(ds), seed)
	return c.fire(ctx, dv, rate, slices.Values(ds), stdout, stderr)
}

// plan generates the scenario: its deliveries in send order, and the plan,
// whose Rows are what the receiver's tables must end with.
func (c *scenarioCmd) plan(ctx context.Context, sc *scenario.Scenario, seed uint64, env *config.Env) ([]fake.Delivery, scenario.Plan, error) {
	g := c.generator(seed)
	p, err := sc.Plan(ctx, scenario.Options{
		Gen:       g,
		Env:       func(k string) (string, bool) { v, src := env.Lookup(k); return v, src != "" },
		Rand:      rand.New(rand.NewPCG(seed, seed>>1|1)),
		Shuffle:   c.shuffle,
		Duplicate: c.duplicate,
	})
	if errors.Is(err, scenario.ErrInvalid) {
		return nil, p, usageError("%v", err)
	}
	if err != nil {
		return nil, p, err
	}
	return p.Deliveries(g), p, nil
}
