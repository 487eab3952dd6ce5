package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/clerk-sync/clerk-sync/internal/config"
	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/server"
	"github.com/clerk-sync/clerk-sync/internal/store"
)

// mappingFlags name the mapping file and override its delete mode; with
// withDB, they also name the database, for the commands that open it.
type mappingFlags struct {
	withDB   bool
	db       string
	config   string
	onDelete *choice
}

func newMappingFlags(withDB bool) *mappingFlags {
	return &mappingFlags{withDB: withDB, onDelete: newChoice(string(store.HardDelete), string(store.HardDelete), string(store.SoftDelete))}
}

func (f *mappingFlags) register(fl *pflag.FlagSet) {
	if f.withDB {
		fl.StringVar(&f.db, "db", DefaultDB, "database: a SQLite file, or a postgres:// URL [DATABASE_URL]")
	}
	fl.StringVar(&f.config, "config", mapping.FileName, "mapping file: the tables and columns Clerk users (and organizations, memberships) go to; without it, the default \"User\", \"Organization\" and \"OrganizationMembership\" tables [CLERK_SYNC_CONFIG]")
	fl.Var(f.onDelete, "on-delete", `what a deletion (user.deleted, organization.deleted …) does: "hard" deletes the row, "soft" sets the mapping's delete column (deletedAt); overrides the mapping file [CLERK_SYNC_ON_DELETE]`)
}

// load reads the mapping file: the one named by --config or
// CLERK_SYNC_CONFIG, which must exist, else clerk-sync.yaml when there is
// one, else the default mapping. --on-delete, when set, wins over the
// file's on_delete.
// The environment must have been applied to the flags (loadEnv).
func (f *mappingFlags) load(cmd *cobra.Command) (mapping.Mapping, error) {
	m, err := mapping.LoadOr(f.config, cmd.Flags().Changed("config"))
	if err != nil {
		return m, err
	}
	if cmd.Flags().Changed("on-delete") {
		m = m.WithDelete(store.DeleteMode(f.onDelete.value))
		if err := m.Validate(); err != nil {
			return m, fmt.Errorf("--on-delete %s: %w", f.onDelete.value, err)
		}
	}
	return m, nil
}

// resolve applies the environment to the flags, then loads the mapping.
func (f *mappingFlags) resolve(cmd *cobra.Command) (mapping.Mapping, error) {
	if _, err := loadEnv(cmd); err != nil {
		return mapping.Mapping{}, err
	}
	return f.load(cmd)
}

// describe names the mapping in messages: the table of each kind it
// syncs.
func describe(m mapping.Mapping) string {
	var tables []string
	for _, p := range m.Projections() {
		tables = append(tables, p.QualifiedName())
	}
	what := "table " + tables[0]
	if len(tables) > 1 {
		what = "tables " + strings.Join(tables, ", ")
	}
	if m.Source == "" {
		return what + " (the default mapping)"
	}
	return fmt.Sprintf("%s (mapping %s)", what, m.Source)
}

// loadEnv reads the environment and the .env files of the working
// directory and applies them to the command's flags (envVars).
func loadEnv(cmd *cobra.Command) (*config.Env, error) {
	env, err := config.LoadEnv(".")
	if err != nil {
		return nil, err
	}
	return env, env.ApplyFlags(cmd.Flags(), envVars)
}

func newSchemaCmd(stdout io.Writer) *cobra.Command {
	var (
		prisma  bool
		sql     string
		example bool
		mf      = newMappingFlags(false)
	)
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the tables of the mapping, as Prisma models or SQL",
		Long: `schema prints the tables that clerk-sync writes under the current mapping
(clerk-sync.yaml, or without one the default "User", "Organization" and
"OrganizationMembership" tables): the Prisma models (the default) to paste into
schema.prisma, or the DDL in the form that ` + "`prisma migrate`" + ` writes. --example
prints a commented clerk-sync.yaml to start from.`,
		Example: `  clerk-sync schema
  clerk-sync schema --sql postgres
  clerk-sync schema --example > clerk-sync.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if example {
				fmt.Fprint(stdout, mapping.Example)
				return nil
			}
			if prisma && sql != "" {
				return fmt.Errorf("--prisma and --sql: choose one")
			}
			if sql != "" && sql != mapping.Postgres && sql != mapping.SQLite {
				return fmt.Errorf(`--sql %q: want postgres or sqlite`, sql)
			}
			m, err := mf.resolve(cmd)
			if err != nil {
				return err
			}
			for i, p := range m.Projections() {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				if sql == "" {
					fmt.Fprint(stdout, p.Prisma())
				} else {
					fmt.Fprint(stdout, p.DDL(sql, false))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&prisma, "prisma", false, "print the Prisma model (the default)")
	cmd.Flags().StringVar(&sql, "sql", "", "print the DDL for postgres or sqlite instead")
	cmd.Flags().BoolVar(&example, "example", false, "print a commented clerk-sync.yaml")
	mf.register(cmd.Flags())
	return cmd
}

func newMigrateCmd(stdout io.Writer) *cobra.Command {
	mf := newMappingFlags(true)
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create clerk-sync's own tables (and the default users table), then check the users table",
		Long: `migrate applies clerk-sync's embedded migrations and exits. They create its
bookkeeping tables (clerk_sync_*), and the default "User" table when there is
no mapping file and no such table. It never alters the app's own table: it
checks it against the mapping, as start-up does, and fails when deliveries
would fail (see clerk-sync doctor).`,
		Example: `  DATABASE_URL=postgres://app@localhost/app clerk-sync migrate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := mf.resolve(cmd)
			if err != nil {
				return err
			}
			st, desc, err := server.OpenStore(cmd.Context(), mf.db, m)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			defer st.Close()
			fmt.Fprintf(stdout, "clerk-sync: %s is migrated; Clerk's changes go to %s\n", desc, describe(m))
			return nil
		},
	}
	mf.register(cmd.Flags())
	return cmd
}

func newDoctorCmd(stdout io.Writer) *cobra.Command {
	mf := newMappingFlags(true)
	var retention store.Retention
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the mapped tables against the mapping, changing nothing",
		Long: `doctor connects to the database and checks each table of the mapping (users,
and organizations and memberships when synced; clerk-sync.yaml, or the default
"User", "Organization" and "OrganizationMembership" tables) against it: a
missing table or column, a type that cannot hold its value, a NOT NULL column the
mapping never fills, a primary key it cannot fill, a key without a unique index.
Warnings: a unique index on the email, username, phone or an organization's
slug (Clerk lets them change and swap, and a deleted one's can come back on a
new account or organization), a foreign key
(events arrive in any order: a membership before its organization is refused
with 500 and retried until the organization exists), and a unique index on a
membership's (organization, user). Each finding says how to fix it.

It exits 1 when a finding would make deliveries fail; clerk-sync refuses to
start for the same findings.`,
		Example: `  clerk-sync doctor
  DATABASE_URL=postgres://app@localhost/app clerk-sync doctor --config clerk-sync.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := mf.resolve(cmd)
			if err != nil {
				return err
			}
			findings, desc, err := server.Doctor(cmd.Context(), mf.db, m)
			if err != nil {
				return fmt.Errorf("doctor: %w", err)
			}
			fmt.Fprintf(stdout, "clerk-sync doctor: %s in %s, on_delete %s\n", describe(m), desc, m.OnDelete)
			fmt.Fprintf(stdout, "retention: %s\n", describeRetention(retention))
			for _, f := range findings {
				fmt.Fprintf(stdout, "\n%s\n", f)
			}
			failing := len(mapping.Failing(findings))
			switch {
			case failing > 0:
				fmt.Fprintln(stdout)
				return fmt.Errorf("%d finding(s) would make deliveries fail", failing)
			case len(findings) > 0:
				fmt.Fprintf(stdout, "\nok: deliveries will work; %d warning(s) above\n", len(findings))
			default:
				fmt.Fprintln(stdout, "ok: every table fits the mapping")
			}
			return nil
		},
	}
	mf.register(cmd.Flags())
	registerRetention(cmd.Flags(), &retention)
	return cmd
}
