package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"postgres://app:hunter2@db:5432/app", true, "postgres://app:hunter2@db:5432/app", "postgres app@db:5432/app"},
		// Prisma's parameters become pgx's, or go.
		{"postgresql://app:hunter2@db/app?schema=public&connection_limit=5&pgbouncer=true", true,
			"postgresql://app:hunter2@db/app?pool_max_conns=5&search_path=public", "postgres app@db/app"},
		{"postgres://db/app?password=hunter2&sslmode=disable", true, "postgres://db/app?password=hunter2&sslmode=disable", "postgres db/app"},
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
	for _, bad := range []string{"mysql://u:hunter2@h/db", "mongodb+srv://x", "sqlite:", "postgres://u:hunter2@[bad/db"} {
		_, err := ParseDatabase(bad)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseDatabase(%q) = %v; want an error without the password", bad, err)
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
