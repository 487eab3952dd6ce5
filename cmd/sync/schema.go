package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
	"github.com/clerk-sync/clerk-sync/internal/store/postgres"
	"github.com/clerk-sync/clerk-sync/internal/store/sqlite"
)

func newSchemaCmd(stdout io.Writer) *cobra.Command {
	var (
		prisma bool
		sql    string
	)
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the users table clerk-sync writes, as a Prisma model or SQL",
		Long: `schema prints the users table that clerk-sync writes: the Prisma model (the
default) to paste into schema.prisma, or the DDL that its migration runs.`,
		Example: `  clerk-sync schema
  clerk-sync schema --sql postgres`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prisma && sql != "" {
				return fmt.Errorf("--prisma and --sql: choose one")
			}
			switch sql {
			case "":
				fmt.Fprint(stdout, store.DefaultPrismaModel)
			case "postgres":
				fmt.Fprint(stdout, postgres.DefaultTable())
			case "sqlite":
				fmt.Fprint(stdout, sqlite.DefaultTable())
			default:
				return fmt.Errorf(`--sql %q: want postgres or sqlite`, sql)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&prisma, "prisma", false, "print the Prisma model (the default)")
	cmd.Flags().StringVar(&sql, "sql", "", "print the DDL for postgres or sqlite instead")
	return cmd
}

func newMigrateCmd(stdout io.Writer) *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create clerk-sync's tables, and the default users table if there is none",
		Long: `migrate applies clerk-sync's embedded migrations and exits: its bookkeeping
tables, and the default users table when the database has no "User" table
(an existing one is left alone). clerk-sync does the same at start-up.`,
		Example: `  DATABASE_URL=postgres://app@localhost/app clerk-sync migrate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := config.LoadEnv(".")
			if err != nil {
				return err
			}
			if err := env.ApplyFlags(cmd.Flags(), map[string]string{"db": envVars["db"]}); err != nil {
				return err
			}
			st, desc, err := server.OpenStore(cmd.Context(), db, store.HardDelete)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			defer st.Close()
			fmt.Fprintf(stdout, "clerk-sync: %s is migrated\n", desc)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", DefaultDB, "database: a SQLite file, or a postgres:// URL [DATABASE_URL]")
	return cmd
}
