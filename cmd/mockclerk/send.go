package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/fixtures"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// defaultTo is the local clerk-sync's webhook URL.
const defaultTo = "http://localhost:8080/api/webhooks/clerk"

type sendCmd struct {
	to     string
	secret string
	user   string
	count  int
	set    []string
}

func newSendCmd(stdout, stderr io.Writer) *cobra.Command {
	var c sendCmd
	cmd := &cobra.Command{
		Use:   "send <event-type>",
		Short: "Sign a fixture event and POST it, like stripe trigger",
		Long: `send builds an event from its fixture (mockclerk fixtures lists them), fills in
fresh ids, times and names, signs it with the local secret and POSTs it to --to.
It prints one line per delivery and exits 1 if any answer is not 2xx.

user.updated and user.deleted act on --user, or else on the last user that
mockclerk created on this machine.`,
		Example: `  mockclerk send user.created
  mockclerk send user.updated --set first_name=Ada
  mockclerk send user.deleted --user user_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C
  mockclerk send user.created --count 10 --to http://localhost:3000/api/webhooks/clerk`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.run(cmd.Context(), args[0], stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.to, "to", defaultTo, "receiver URL")
	fl.StringVar(&c.secret, "secret", "", "signing secret (default: CLERK_WEBHOOK_SIGNING_SECRET, CLERK_WEBHOOK_SECRET)")
	fl.StringVar(&c.user, "user", "", "user id for user.updated / user.deleted (default: the last user created)")
	fl.IntVar(&c.count, "count", 1, "how many events to send")
	fl.StringArrayVar(&c.set, "set", nil, "override a field of data, path=value (gjson path; repeatable)")
	return cmd
}

func (c *sendCmd) run(ctx context.Context, eventType string, stdout, stderr io.Writer) error {
	if !slices.Contains(fixtures.Types(), eventType) {
		return usageError("unknown event type %q; known: %s", eventType, strings.Join(fixtures.Types(), ", "))
	}
	if c.count < 1 {
		return usageError("--count must be at least 1")
	}
	signer, err := loadSigner(c.secret)
	if err != nil {
		return err
	}
	statePath, err := fake.StatePath()
	if err != nil {
		return err
	}
	g := fake.New(uint64(time.Now().UnixNano()), time.Now())
	var target *fake.User
	if eventType != clerk.UserCreated {
		if target, err = c.targetUser(g, statePath); err != nil {
			return err
		}
	}

	client := &http.Client{Timeout: 15 * time.Second}
	sum := summary{}
	for range c.count {
		var ev fake.Event
		switch eventType {
		case clerk.UserCreated:
			target = g.NewUser()
			ev = g.Created(target)
		case clerk.UserUpdated:
			ev = g.Updated(target)
		case clerk.UserDeleted:
			ev = g.Deleted(target)
		}
		if ev.Body, err = override(ev.Body, c.set); err != nil {
			return usageError("%v", err)
		}
		d, err := g.Deliver(signer, ev, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s  --> %s %s [%s]\n", clock(), ev.Type, ev.UserID, d.ID)
		resp, err := fake.Post(ctx, client, c.to, d)
		sum.add(resp, err)
		if err != nil {
			fmt.Fprintf(stdout, "%s  <-- error: %v\n", clock(), err)
			continue
		}
		fmt.Fprintf(stdout, "%s  <-- %d %s %s\n", clock(), resp.Status, resp.Outcome, resp.Latency.Round(100*time.Microsecond))
	}
	if target != nil {
		if err := fake.SaveUser(statePath, target); err != nil {
			fmt.Fprintf(stderr, "mockclerk: could not remember user %s: %v\n", target.ID, err)
		}
	}
	return sum.result(stdout)
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
		last = g.NewUser()
		last.ID = c.user
	case last == nil:
		return nil, usageError("no user to act on: pass --user, or run `mockclerk send user.created` first")
	}
	g.Follow(last)
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

// loadSigner finds the signing secret the way clerk-sync does.
func loadSigner(flag string) (*fake.Signer, error) {
	env, err := config.LoadEnv(".")
	if err != nil {
		return nil, err
	}
	raw, source := env.Secret(flag)
	if _, err := webhook.ParseSecret(raw); err != nil {
		if source == "" {
			return nil, fmt.Errorf("no signing secret: run `mockclerk secret --write-env`, or set CLERK_WEBHOOK_SIGNING_SECRET (%w)", err)
		}
		return nil, fmt.Errorf("signing secret from %s: %w", source, err)
	}
	return fake.NewSigner(raw)
}

func clock() string { return time.Now().Format("15:04:05") }

// runFailed is returned after the summary of a run with failed deliveries.
type runFailed struct{ failed int }

func (e *runFailed) Error() string { return fmt.Sprintf("%d deliveries failed", e.failed) }

// summary counts the answers of a run.
type summary struct {
	sent, ok, c4xx, c5xx, errs int
}

func (s *summary) add(r fake.Response, err error) {
	s.sent++
	switch {
	case err != nil:
		s.errs++
	case r.Status >= 200 && r.Status < 300:
		s.ok++
	case r.Status >= 500:
		s.c5xx++
	default:
		s.c4xx++
	}
}

func (s *summary) result(w io.Writer) error {
	if s.sent > 1 || s.ok < s.sent {
		fmt.Fprintf(w, "sent %d: %d 2xx, %d 4xx, %d 5xx, %d failed\n", s.sent, s.ok, s.c4xx, s.c5xx, s.errs)
	}
	if failed := s.sent - s.ok; failed > 0 {
		return &runFailed{failed: failed}
	}
	return nil
}
