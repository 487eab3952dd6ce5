package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/clerk-sync/clerk-sync/fixtures"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
)

// defaultTo is the local clerk-sync's webhook URL.
const defaultTo = "http://localhost:8080/api/webhooks/clerk"

type sendCmd struct {
	fireFlags
	user      string
	count     int
	set       []string
	overrides []string
	data      string
	duplicate int
	shuffle   bool
}

func newSendCmd(stdout, stderr io.Writer) *cobra.Command {
	var c sendCmd
	cmd := &cobra.Command{
		Use:   "send <event-type>",
		Short: "Sign a fixture event and POST it, like stripe trigger",
		Long: `send builds an event from its fixture (mockclerk fixtures lists them), fills in
fresh ids, times and names, signs it with the local secret and POSTs it to --to,
printing a line per attempt and a summary. It exits 1 if any delivery ends
without a 2xx answer.

user.updated and user.deleted act on --user, or else on the last user that
mockclerk created on this machine. The hard cases a receiver must survive are
flags: --duplicate, --shuffle, --tamper, --stale, --headers, --no-sign, --retry.`,
		Example: `  mockclerk send user.created
  mockclerk send user.updated --set first_name=Ada --set public_metadata='{"plan":"pro"}'
  mockclerk send user.deleted --user user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C
  mockclerk send user.created --count 100 --duplicate 2 --shuffle --concurrency 8
  mockclerk send user.created --tamper body            # expect 400 bad-signature
  mockclerk send user.created --stale 6m               # expect 400 too-old
  mockclerk send user.created --retry fast             # keep trying while the receiver is down
  mockclerk send user.created --count 20000 --concurrency 16 --output ndjson > results.ndjson`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.run(cmd.Context(), args[0], stdout, stderr)
		},
	}
	fl := cmd.Flags()
	c.register(fl, 1)
	fl.StringVar(&c.user, "user", "", "user id for user.updated / user.deleted (default: the last user created)")
	fl.IntVar(&c.count, "count", 1, "how many events to send")
	fl.StringArrayVar(&c.set, "set", nil, "override a field of data: path=value (gjson path; repeatable)")
	fl.StringArrayVar(&c.overrides, "override", nil, "same as --set")
	fl.StringVar(&c.data, "data", "", "the whole data object, as @file.json or inline JSON")
	fl.IntVar(&c.duplicate, "duplicate", 0, "send each delivery N more times (same svix-id and bytes)")
	fl.BoolVar(&c.shuffle, "shuffle", false, "send in random order")
	return cmd
}

func (c *sendCmd) run(ctx context.Context, eventType string, stdout, stderr io.Writer) error {
	if !slices.Contains(fixtures.Types(), eventType) {
		return usageError("unknown event type %q; known: %s", eventType, strings.Join(fixtures.Types(), ", "))
	}
	if c.count < 1 || c.duplicate < 0 {
		return usageError("--count must be at least 1 and --duplicate at least 0")
	}
	env, err := config.LoadEnv(".")
	if err != nil {
		return err
	}
	dv, rate, err := c.deliverer(env)
	if err != nil {
		return err
	}
	statePath, err := fake.StatePath()
	if err != nil {
		return err
	}
	g := fake.New(uint64(time.Now().UnixNano()), time.Now())
	var target *fake.User
	if eventType == clerk.UserUpdated || eventType == clerk.UserDeleted {
		if target, err = c.targetUser(g, statePath); err != nil {
			return err
		}
	}
	var data []byte
	if c.data != "" {
		if data, err = readArg(c.data); err != nil {
			return err
		}
		if !gjson.ValidBytes(data) || !gjson.ParseBytes(data).IsObject() {
			return usageError("--data: not a JSON object")
		}
	}

	// Build (and check) everything before sending anything.
	ds := make([]fake.Delivery, 0, c.count*(1+c.duplicate))
	for range c.count {
		ev, u, err := g.Event(eventType, target)
		if err != nil {
			return err
		}
		if eventType == clerk.UserCreated {
			target = u
		}
		if data != nil {
			if ev.Body, err = sjson.SetRawBytes(ev.Body, "data", data); err != nil {
				return usageError("--data: %v", err)
			}
			ev.UserID = gjson.GetBytes(data, "id").String()
		}
		if ev.Body, err = override(ev.Body, append(c.set, c.overrides...)); err != nil {
			return usageError("%v", err)
		}
		if id := gjson.GetBytes(ev.Body, "data.id"); id.Exists() && clerk.IsUserEvent(eventType) {
			ev.UserID = id.String()
		}
		d := fake.Delivery{ID: g.ID("msg"), Body: ev.Body, Event: ev}
		for range 1 + c.duplicate {
			ds = append(ds, d)
		}
	}
	if c.shuffle {
		rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	}
	fireErr := c.fire(ctx, dv, rate, ds, stdout, stderr)
	if target != nil {
		if err := fake.SaveUser(statePath, target); err != nil {
			fmt.Fprintf(stderr, "mockclerk: could not remember user %s: %v\n", target.ID, err)
		}
	}
	return fireErr
}

// targetUser is the user that an update or delete acts on.
func (c *sendCmd) targetUser(g *fake.Generator, statePath string) (*fake.User, error) {
	last, err := fake.LoadUser(statePath)
	if err != nil {
		return nil, err
	}
	switch {
	case c.user != "" && last != nil && last.ID == c.user:
	case c.user != "":
		// A user this machine has not seen: invent the rest of it.
		last = g.UserWithID(c.user)
	case last == nil:
		return nil, usageError("no user to act on: pass --user, or run `mockclerk send user.created` first")
	}
	return last, nil
}

// override applies path=value pairs to the event's data.
func override(body []byte, sets []string) ([]byte, error) {
	for _, kv := range sets {
		path, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want path=value", kv)
		}
		var err error
		if body, err = fake.Override(body, path, value); err != nil {
			return nil, fmt.Errorf("--set %q: %w", kv, err)
		}
	}
	return body, nil
}

func clock() string { return time.Now().Format("15:04:05") }

// runFailed is returned after the summary of a run with failed deliveries.
type runFailed struct{ failed int }

func (e *runFailed) Error() string { return fmt.Sprintf("%d deliveries failed", e.failed) }
