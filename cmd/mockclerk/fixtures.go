package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/fixtures"
	"github.com/clerk-sync/clerk-sync/internal/clerk"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/scenario"
)

func newFixturesCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "fixtures",
		Short: "List the built-in event types and scenarios",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "EVENT TYPE\tclerk-sync")
			for _, t := range fixtures.Types() {
				what := "recorded as ignored"
				if kind, _, ok := clerk.KindOf(t); ok {
					what = "applied to the " + mapping.Section(kind) + " table (by default)"
				}
				fmt.Fprintf(w, "%s\t%s\n", t, what)
			}
			fmt.Fprintln(w, "\nSCENARIO\tWHAT IT CHECKS")
			for _, name := range scenario.Builtins() {
				sc, err := scenario.Load(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\n", name, sc.Description)
			}
			return w.Flush()
		},
	}
}
