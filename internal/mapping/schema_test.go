package mapping

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name.golden, or rewrites that file
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// schemaMappings are the mappings whose schema the goldens hold: the
// default, the example, and two that reach the other column kinds.
func schemaMappings(t *testing.T) []struct {
	name string
	m    Mapping
} {
	return []struct {
		name string
		m    Mapping
	}{
		{"default", Default()},
		{"example", mustParse(t, Example)},
		// A serial primary key, booleans, a nullable time, a boolean soft
		// delete, and @@map without @@schema.
		{"serial", mustParse(t, `table: members
model: Member
key: clerk_id
primary_key: {column: id, fill: default}
columns:
  name: full_name
  phone: phone
  banned: banned
  locked: locked
  last_sign_in_at: last_sign_in_at
  profile: user
on_delete: {mode: soft, column: is_deleted, type: boolean}
`)},
		// The key is the primary key; JSON kept in a text column.
		{"keyed", mustParse(t, `table: Account
key: clerkId
columns:
  email: email
  private: {field: private_metadata, as: text}
  updatedAt: updated_at
`)},
	}
}

func TestSchemaGolden(t *testing.T) {
	for _, tt := range schemaMappings(t) {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name+".prisma", tt.m.Prisma())
			golden(t, tt.name+".postgres.sql", tt.m.DDL(Postgres, false))
			golden(t, tt.name+".sqlite.sql", tt.m.DDL(SQLite, false))
		})
	}
}

// TestDDLDefaultColumns: the default table's timestamps are declared as
// Prisma declares DateTime @default(now()) and DateTime @updatedAt.
func TestDDLDefaultColumns(t *testing.T) {
	lines := strings.Split(Default().DDL(Postgres, false), "\n")
	for _, want := range []string{
		`    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,`,
		`    "updatedAt" TIMESTAMP(3) NOT NULL,`,
		`CREATE TABLE "User" (`,
		`    CONSTRAINT "User_pkey" PRIMARY KEY ("id")`,
		`CREATE UNIQUE INDEX "User_clerkId_key" ON "User"("clerkId");`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("Default().DDL(postgres) has no line %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

// TestDDLPrisma: every statement of the DDL of the seed plan's mapping,
// for each of its tables, is one that Prisma 6 wrote for its models
// (testdata of storetest), but for the email, which the model declares
// String @unique and the mapping leaves optional; and Prisma wrote no
// table or index more.
func TestDDLPrisma(t *testing.T) {
	m := seedPlanMapping(t)
	for _, driver := range []string{Postgres, SQLite} {
		t.Run(driver, func(t *testing.T) {
			prisma := strings.TrimPrefix(string(prismaFixture(t, "seed-plan."+driver+".sql")), "-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS \"public\";\n\n")
			prisma = strings.Replace(prisma, `"email" TEXT NOT NULL,`, `"email" TEXT,`, 1)
			prisma = strings.Replace(prisma, "\n-- CreateIndex\nCREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");\n", "", 1)
			theirs := statements(prisma)
			var ours []string
			for _, p := range m.Projections() {
				ours = append(ours, statements(p.DDL(driver, false))...)
			}
			slices.Sort(theirs)
			slices.Sort(ours)
			if !slices.Equal(ours, theirs) {
				t.Errorf("DDL(%s) =\n%s\nPrisma's (email optional, not unique) =\n%s", driver, strings.Join(ours, "\n\n"), strings.Join(theirs, "\n\n"))
			}
		})
	}
}

// statements splits DDL into its commented statements ("-- CreateTable\n
// CREATE TABLE …;").
func statements(ddl string) []string {
	var out []string
	for _, s := range strings.Split(strings.TrimSpace(ddl), "\n\n-- ") {
		out = append(out, "-- "+strings.TrimPrefix(strings.TrimSpace(s), "-- "))
	}
	return out
}

// TestDDLIfNotExists: ifNotExists changes each CREATE and nothing else.
func TestDDLIfNotExists(t *testing.T) {
	for _, tt := range schemaMappings(t) {
		m := tt.m
		for _, driver := range []string{Postgres, SQLite} {
			want := m.DDL(driver, false)
			want = strings.ReplaceAll(want, "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
			want = strings.ReplaceAll(want, "CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ")
			if got := m.DDL(driver, true); got != want {
				t.Errorf("%s: DDL(%s, true) =\n%s\nwant\n%s", tt.name, driver, got, want)
			}
		}
	}
}

// Names Prisma cannot take as identifiers get ones it can, mapped to the
// real names with @map/@@map in valid string literals.
func TestPrismaOddNames(t *testing.T) {
	m := mustParse(t, `table: app-users
schema: my "schema"
key: clerk id
columns:
  e-mail: email
  2fa: phone
  'back\slash "q"': username
  first_name: first_name
  first-name: last_name
`)
	want := `model AppUsers {
  clerkId    String  @id @map("clerk id") // the Clerk user id
  eMail      String? @map("e-mail") // the primary email; null for users without one
  column2fa  String? @map("2fa")
  backSlashQ String? @map("back\\slash \"q\"")
  firstName  String? @map("first_name")
  firstName2 String? @map("first-name")

  @@map("app-users")
  @@schema("my \"schema\"")
}
`
	if got := m.Prisma(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for _, tt := range []struct{ in, want string }{
		{"User", "User"}, {"first_name", "firstName"}, {"_x", "x"}, {"", "column"}, {"---", "column"}, {"9lives", "column9lives"}, {"élève", "lVe"},
	} {
		if got := prismaName(tt.in, "column", false); got != tt.want || !IsPrismaName(got) {
			t.Errorf("prismaName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
