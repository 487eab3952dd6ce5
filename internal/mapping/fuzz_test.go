package mapping

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzParse: no mapping file, however broken, panics the parser; what it
// accepts prints as a schema and checks against a missing table, and every
// refusal names a line.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Example))
	f.Add([]byte("table: User\nkey: clerkId\nprimary_key: {column: id, fill: cuid}\ncolumns:\n  email: email\n  updatedAt: updated_at\n"))
	f.Add([]byte("table: app_users\nschema: public\nkey: clerk_id\non_delete: {mode: soft, column: deleted, type: boolean}\n"))
	f.Add([]byte("table: User\nkey: clerkId\ncolumns:\n  email: {field: email, as: text}\n"))
	f.Add([]byte("table: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if line, _, ok := strings.Cut(err.Error(), ":"); !ok || strings.TrimLeft(line, "0123456789") != "" || line == "" {
				t.Fatalf("error %q does not start with a line number", err)
			}
			return
		}
		for _, driver := range []string{Postgres, SQLite} {
			if fs := Check(m, driver, TableInfo{}); len(fs) != 1 || !strings.Contains(fs[0].Problem, "does not exist") && !strings.Contains(fs[0].Problem, "63-byte limit") {
				t.Fatalf("Check of a missing table: %v", fs)
			}
			if ddl := m.DDL(driver, false); !strings.Contains(ddl, "CREATE TABLE") {
				t.Fatalf("DDL %q", ddl)
			}
		}
		prisma := m.Prisma()
		if !strings.HasPrefix(prisma, "model ") {
			t.Fatalf("Prisma model %q", prisma)
		}
		if model, _, _ := strings.Cut(strings.TrimPrefix(prisma, "model "), " "); !IsPrismaName(model) {
			t.Fatalf("model name %q", model)
		}
		if strings.ContainsFunc(prisma, func(r rune) bool { return r != '\n' && !unicode.IsPrint(r) }) {
			t.Fatalf("unprintable characters in %q", prisma)
		}
	})
}
