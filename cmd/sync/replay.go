package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/replay"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

// defaultTo is where replay sends: a receiver started with the defaults.
const defaultTo = "http://localhost:8080/api/webhooks/clerk"

func newReplayCmd(stdout, stderr io.Writer) *cobra.Command {
	mf := newMappingFlags(true)
	var (
		to, secret string
		failed     bool
		since      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "replay <svix-id>… | --failed [--since 2h]",
		Short: "Send deliveries from the ledger again, re-signed under their own svix-id",
		Long: `replay reads deliveries from the ledger (--db) and sends each again to a receiver
(--to): its stored bytes, signed now with the signing secret under the same
svix-id, as Svix does when it retries a message or you recover failed ones in
its dashboard. A delivery that was applied is answered duplicate; one that
failed (say, on a unique index) is applied again, and applies once its cause
is fixed.

--failed replays every delivery the ledger holds as failed, oldest first;
--since limits it to those received in that last while.

It prints the answer to each and exits 1 when any is not a 2xx.`,
		Example: `  clerk-sync replay msg_2pQm8Vd1Ke4ZsR7u0Nx3Wa9Bf5C
  clerk-sync replay --failed --since 2h
  clerk-sync replay --failed --db "$DATABASE_URL" --to http://localhost:3000/api/webhooks/clerk`,
		SilenceUsage: true,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case failed && len(args) > 0:
				return usageError{errors.New("give svix-ids or --failed, not both")}
			case !failed && len(args) == 0:
				return usageError{errors.New("which deliveries? give their svix-ids (msg_…), or --failed for every failed one; the inspector and the log show svix-ids")}
			case !failed && cmd.Flags().Changed("since"):
				return usageError{errors.New("--since goes with --failed")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, ids []string) error {
			ctx := cmd.Context()
			env, err := loadEnv(cmd)
			if err != nil {
				return err
			}
			m, err := mf.load(cmd)
			if err != nil {
				return err
			}
			sec, _, err := webhook.LoadSecret(env, secret)
			if err != nil {
				return err
			}
			signer, err := fake.NewSigner(sec.Reveal())
			if err != nil {
				return err
			}
			st, desc, err := server.OpenStore(ctx, mf.db, m)
			if err != nil {
				return fmt.Errorf("open database: %w", err)
			}
			defer st.Close()

			var (
				recs []store.Record
				errs []error // why recs[i] cannot be sent, or nil
				bad  int
			)
			if failed {
				var after time.Time
				if since > 0 {
					after = time.Now().Add(-since)
				}
				if recs, err = replay.Failed(ctx, st, after); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "clerk-sync replay: %d failed deliveries in %s\n", len(recs), desc)
				errs = make([]error, len(recs))
				for i, rec := range recs {
					if len(rec.Payload) == 0 {
						errs[i] = fmt.Errorf("delivery %s: %w", rec.SvixID, replay.ErrPruned)
					}
				}
			}
			for _, id := range ids {
				rec, err := replay.Find(ctx, st, id)
				rec.SvixID = id
				recs, errs = append(recs, rec), append(errs, err)
			}
			dv := &fake.Deliverer{Client: &http.Client{Timeout: 15 * time.Second}, URL: to, Signer: signer}
			for i, rec := range recs {
				if errs[i] != nil {
					fmt.Fprintf(stdout, "%s  error: %s\n", rec.SvixID, errs[i])
					bad++
					continue
				}
				a := replay.Send(ctx, dv, rec)
				if a.Err != nil {
					return fmt.Errorf("replay %s to %s: %w (is clerk-sync running there? --to names another receiver)", rec.SvixID, to, a.Err)
				}
				line := fmt.Sprintf("%s  %s %s  --> %d %s", rec.SvixID, rec.Type, rec.UserID, a.Response.Status, a.Response.Outcome)
				if a.Response.Reason != "" {
					line += " (" + a.Response.Reason + ")"
				}
				fmt.Fprintln(stdout, line)
				if !a.OK() {
					bad++
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d deliveries not replayed, or not answered 2xx", bad, len(recs))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	mf.register(fl)
	fl.StringVar(&to, "to", defaultTo, "the receiver to send to")
	fl.StringVar(&secret, "secret", "", "Svix signing secret, whsec_… (prefer CLERK_WEBHOOK_SIGNING_SECRET: flags show in ps)")
	fl.BoolVar(&failed, "failed", false, "replay every delivery that the ledger holds as failed")
	fl.DurationVar(&since, "since", 0, "with --failed: only those received this long ago or later, e.g. 2h")
	return cmd
}
