package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/backfill"
)

func newReconcileCmd(stdout, stderr io.Writer) *cobra.Command {
	f := newAPIFlags()
	var apply bool
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Compare the table with Clerk's users and report (or --apply a repair of) the drift",
		Long: `reconcile lists every user of the Clerk instance (CLERK_SECRET_KEY) and compares
the table with it:

  missing  in Clerk, not in the table
  behind   the table's version is older than Clerk's updated_at
  gone     in the table, and Clerk answers 404 for the user by id

A user absent from the listing counts as gone only after Clerk answers 404 for
it by id: a listing is not a snapshot, and no live user is deleted because a
page shifted. --apply repairs the drift: missing and behind users are applied as
backfill applies them, gone users are deleted (or soft-deleted) and tombstoned.

It exits 1 when drift remains (none found, or all repaired: 0), so it can run
in CI or from cron.`,
		Example: `  clerk-sync reconcile
  clerk-sync reconcile --apply
  clerk-sync reconcile --output ndjson | jq -r 'select(.kind == "gone") | .user_id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, st, desc, err := f.open(cmd, stderr)
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintf(stderr, "clerk-sync reconcile: %s against %s\n", desc, f.url)
			rep, err := backfill.Reconcile(cmd.Context(), api, st, backfill.ReconcileOptions{Apply: apply})
			if err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
			if f.output.value == "ndjson" {
				emit := ndjson(stdout)
				for _, d := range rep.Drift {
					emit(d)
				}
			} else {
				printDrift(stdout, rep)
			}
			fmt.Fprintf(stderr, "%d users in Clerk, %d rows; %d missing, %d behind, %d gone; %d repaired, in %s\n",
				rep.InClerk, rep.InTable, rep.Count(backfill.Missing), rep.Count(backfill.Behind), rep.Count(backfill.Gone),
				len(rep.Drift)-rep.Unrepaired(), rep.Elapsed.Round(time.Millisecond))
			if n := rep.Unrepaired(); n > 0 {
				hint := ""
				if !apply {
					hint = " (--apply repairs it)"
				}
				return fmt.Errorf("%d users drift from Clerk%s", n, hint)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&apply, "apply", false, "repair the drift: apply missing and behind users, delete and tombstone gone ones")
	return cmd
}

// printDrift prints one line per drifting user, at most 50.
func printDrift(w io.Writer, rep backfill.Report) {
	if len(rep.Drift) == 0 {
		fmt.Fprintln(w, "no drift: the table matches Clerk")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tUSER\tTABLE VERSION\tCLERK VERSION\tREPAIRED")
	ts := func(ms int64) string {
		if ms == 0 {
			return "-"
		}
		return time.UnixMilli(ms).UTC().Format(time.RFC3339)
	}
	for i, d := range rep.Drift {
		if i == 50 {
			fmt.Fprintf(tw, "… %d more (--output ndjson lists them all)\n", len(rep.Drift)-50)
			break
		}
		repaired := "no"
		switch {
		case d.Repaired:
			repaired = "yes"
		case d.Error != "":
			repaired = "failed: " + d.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Kind, d.UserID, ts(d.Ours), ts(d.Clerks), repaired)
	}
	tw.Flush()
}
