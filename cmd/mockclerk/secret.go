package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/fake"
	"github.com/clerk-sync/clerk-sync/internal/fakeclerk"
	"github.com/clerk-sync/clerk-sync/internal/webhook"
)

type secretCmd struct {
	writeEnv  bool
	ifMissing bool
}

func newSecretCmd(stdout io.Writer) *cobra.Command {
	var c secretCmd
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Generate a whsec_ signing secret",
		Long: `secret prints a new Svix signing secret (whsec_ and 24 random bytes in base64).
With --write-env it also sets CLERK_WEBHOOK_SIGNING_SECRET in .env.local,
leaving the file's other lines alone, so that clerk-sync and mockclerk in this
directory share it; and, when no CLERK_SECRET_KEY is set anywhere, a local
sk_test_ key for mockclerk serve and clerk-sync backfill (a key that is set,
perhaps your instance's own, is never replaced). The file keeps its mode and owner; a symbolic link is
followed to its target.`,
		Example: `  mockclerk secret
  mockclerk secret --write-env
  mockclerk secret --write-env --if-missing   # what task dev runs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(stdout) },
	}
	cmd.Flags().BoolVar(&c.writeEnv, "write-env", false, "write CLERK_WEBHOOK_SIGNING_SECRET into .env.local")
	cmd.Flags().BoolVar(&c.ifMissing, "if-missing", false, "with --write-env: keep the secret already configured, if it is valid")
	return cmd
}

func (c *secretCmd) run(stdout io.Writer) error {
	env, err := config.LoadEnv(".")
	if err != nil {
		return err
	}
	if err := c.signingSecret(env, stdout); err != nil || !c.writeEnv {
		return err
	}
	return writeLocalKey(env, stdout)
}

// signingSecret makes a new signing secret and prints or writes it, unless
// --if-missing finds one.
func (c *secretCmd) signingSecret(env *config.Env, stdout io.Writer) error {
	if c.ifMissing {
		if raw, source := env.Secret(""); raw != "" {
			s, err := webhook.ParseSecret(raw)
			if err != nil {
				return fmt.Errorf("the secret from %s is not usable (%w); fix or remove it", source, err)
			}
			fmt.Fprintf(stdout, "signing secret %s already set by %s\n", s.Fingerprint(), source)
			return nil
		}
	}
	raw := fake.NewSecret()
	s, err := webhook.ParseSecret(raw)
	if err != nil {
		return err // fake.NewSecret makes valid ones
	}
	// So that clerk-sync can warn when this secret meets the real Clerk,
	// which cannot know it.
	if err := config.RememberLocalSecret(s.Fingerprint()); err != nil {
		return fmt.Errorf("remember the new secret: %w", err)
	}
	if !c.writeEnv {
		fmt.Fprintln(stdout, raw)
		return nil
	}
	if err := config.SetInFile(".env.local", config.SecretVars[0], raw); err != nil {
		return err
	}
	wd, _ := os.Getwd()
	fmt.Fprintf(stdout, "wrote %s=%s to %s/.env.local\n", config.SecretVars[0], s.Fingerprint(), wd)
	return nil
}

// writeLocalKey writes a new local Backend API key to .env.local when no
// CLERK_SECRET_KEY is set anywhere.
func writeLocalKey(env *config.Env, stdout io.Writer) error {
	if _, source := env.Lookup(secretKeyVar); source != "" {
		return nil
	}
	if err := config.SetInFile(".env.local", secretKeyVar, fakeclerk.NewSecretKey()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s=sk_test_… (a local key for mockclerk serve) to .env.local\n", secretKeyVar)
	return nil
}
