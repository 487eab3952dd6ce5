package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mockclerk",
		Short: "A fake Clerk: sign webhook events with a local secret and fire them",
		Long: `mockclerk sends the webhooks Clerk would send — same bytes, same Svix headers —
without a Clerk account, so any Clerk webhook handler can be tested offline:
clerk-sync, or your own route that verifies with Svix or Clerk's verifyWebhook.

The signing secret is shared with clerk-sync: --secret, else
CLERK_WEBHOOK_SIGNING_SECRET, else CLERK_WEBHOOK_SECRET, from the environment,
.env.local or .env in the working directory. Create one with
` + "`mockclerk secret --write-env`" + `.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	for _, sub := range []*cobra.Command{newSecretCmd(stdout), newSendCmd(stdout, stderr), newScenarioCmd(stdout, stderr), newVerifyCmd(stdout), newFixturesCmd(stdout), newServeCmd(stdout, stderr), newCheckCmd(stdout, stderr)} {
		if sub.Args != nil {
			// A wrong number of arguments is a usage mistake: exit 2.
			check := sub.Args
			sub.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return usageError("%v", err)
				}
				return nil
			}
		}
		cmd.AddCommand(sub)
	}
	return cmd
}
