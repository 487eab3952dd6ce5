package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
)

func TestParseDatabase(t *testing.T) {
	tests := []struct {
		in       string
		postgres bool
		url      string
		desc     string
	}{
		{"clerk-sync.db", false, "clerk-sync.db", "sqlite clerk-sync.db"},
		{"sqlite:data/users.db", false, "data/users.db", "sqlite data/users.db"},
		{"file:/tmp/x.db?mode=rwc", false, "/tmp/x.db", "sqlite /tmp/x.db"},
		{"./:memory:", false, "./:memory:", "sqlite ./:memory:"},
		{"postgres://app:hunter2@db:5432/app", true, "postgres://app:hunter2@db:5432/app", "postgres app@db:5432/app"},
		// Prisma's parameters become pgx's, or go; the others stay, in order.
		{"postgresql://app:hunter2@db/app?schema=MyApp&connection_limit=5&pool_timeout=10", true,
			`postgresql://app:hunter2@db/app?search_path=%22MyApp%22&pool_max_conns=5`, "postgres app@db/app"},
		// Behind PgBouncer: unnamed statements, and no search_path at
		// connection (CheckSchema checks where the server's leads).
		{"postgresql://app:hunter2@db:6543/app?pgbouncer=true&connection_limit=1&schema=public", true,
			`postgresql://app:hunter2@db:6543/app?default_query_exec_mode=cache_describe&pool_max_conns=1`, "postgres app@db:6543/app"},
		{"postgresql://app:hunter2@db:6543/app?pgbouncer=false", true, `postgresql://app:hunter2@db:6543/app`, "postgres app@db:6543/app"},
		{"postgres://db/app?password=hunter2&sslmode=disable", true, "postgres://db/app?password=hunter2&sslmode=disable", "postgres db/app"},
		// Prisma keeps the schema's case and reads + as a space; pgx reads
		// only %XX.
		{"postgres://db/app?schema=MyApp", true, "postgres://db/app?search_path=%22MyApp%22", "postgres db/app"},
		{"postgres://db/app?application_name=my%20app&options=-c%20search_path%3Dx", true,
			"postgres://db/app?application_name=my%20app&options=-c%20search_path%3Dx", "postgres db/app"},
		{"postgres://db/app?application_name=my+app", true, "postgres://db/app?application_name=my%20app", "postgres db/app"},
		{"postgres://db/app?search_path=x&schema=y", true, "postgres://db/app?search_path=x", "postgres db/app"},
		{"postgres://db/app?schema=&connection_limit=", true, "postgres://db/app", "postgres db/app"},
	}
	for _, tt := range tests {
		db, err := ParseDatabase(tt.in)
		if err != nil || db.Postgres != tt.postgres || db.URL != tt.url || db.Desc != tt.desc {
			t.Errorf("ParseDatabase(%q) = %+v, %v; want %v %q %q", tt.in, db, err, tt.postgres, tt.url, tt.desc)
		}
		if strings.Contains(db.Desc, "hunter2") {
			t.Errorf("%q: the description shows the password", tt.in)
		}
	}
	for _, bad := range []struct{ in, want string }{
		{"mysql://u:hunter2@h/db", `scheme "mysql"`},
		{"mongodb+srv://x", `scheme "mongodb+srv"`},
		{"sqlite:", "empty SQLite file name"},
		{"postgres://u:hunter2@[bad/db", "not a valid postgres:// URL"},
		{"postgres://u@db/app?password=hunter2%zz", `the parameter "password" has a % not followed by two hex digits`},
		{":memory:", "in-memory SQLite database is gone when clerk-sync exits"},
		{"file::memory:", "in-memory SQLite database is gone when clerk-sync exits"},
		{"sqlite::memory:?cache=shared", "in-memory SQLite database is gone when clerk-sync exits"},
		{"users.db\x00.bak", "has a NUL byte"},
	} {
		_, err := ParseDatabase(bad.in)
		if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseDatabase(%q) = %v; want an error saying %q, without the password", bad.in, err, bad.want)
		}
	}
}

// Prisma resolves a relative file: URL against the schema's directory.
func TestPrismaFileURL(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if db, _ := ParseDatabase("file:./dev.db"); db.URL != "./dev.db" {
		t.Fatalf("without prisma/: %q", db.URL)
	}
	os.Mkdir("prisma", 0o755)
	os.WriteFile(filepath.Join("prisma", "schema.prisma"), []byte("// schema"), 0o644)
	if db, _ := ParseDatabase("file:./dev.db"); db.URL != filepath.Join("prisma", "dev.db") {
		t.Fatalf("with prisma/schema.prisma: %q", db.URL)
	}
}

// withParams adds the query params to a database URL.
func withParams(url, params string) string {
	if strings.Contains(url, "?") {
		return url + "&" + params
	}
	return url + "?" + params
}

// Each Prisma parameter that the README names does on a real server what
// it does for the app's Prisma client.
func TestPrismaParamsOnPostgres(t *testing.T) {
	ctx := context.Background()
	base := pgtest.URL(t)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `CREATE SCHEMA "MyApp"; CREATE SCHEMA "two words"`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		params, query, want string
	}{
		{"schema=MyApp", "SELECT current_schema()", "MyApp"},
		{"schema=two%20words", "SELECT current_schema()", "two words"},
		{"schema=two+words", "SELECT current_schema()", "two words"},
		{"application_name=my%20app", "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()", "my app"},
		{"application_name=my+app", "SELECT current_setting('application_name')", "my app"},
		{"options=-c%20search_path%3Dx", "SHOW search_path", "x"},
		// Dropped: the server would refuse them as unknown settings.
		{"pgbouncer=true&pool_timeout=10&socket_timeout=5&sslaccept=strict&statement_cache_size=0", "SELECT 'connected'", "connected"},
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			db, err := ParseDatabase(withParams(base, tt.params))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := pgx.Connect(ctx, db.URL)
			if err != nil {
				t.Fatalf("connect with %s: %v", db.URL, err)
			}
			defer conn.Close(ctx)
			var got string
			if err := conn.QueryRow(ctx, tt.query).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("%s: got %q, want %q", tt.query, got, tt.want)
			}
		})
	}

	db, err := ParseDatabase(withParams(base, "connection_limit=3"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := pgxpool.ParseConfig(db.URL); err != nil || cfg.MaxConns != 3 {
		t.Fatalf("connection_limit=3: pool of %v, %v", cfg, err)
	}

	// The sync's own tables and the users table go where Prisma's are.
	st, _, err := OpenStore(ctx, withParams(base, "schema=MyApp"), mapping.Default())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	var where string
	if err := admin.QueryRow(ctx, `SELECT string_agg(table_schema, ',' ORDER BY table_schema) FROM information_schema.tables WHERE table_name IN ('User', 'Organization', 'clerk_sync_entities')`).Scan(&where); err != nil {
		t.Fatal(err)
	}
	if where != "MyApp,MyApp,MyApp" {
		t.Fatalf("the tables are in %s, want MyApp", where)
	}
}
