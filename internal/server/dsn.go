package server

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Database is a parsed --db / DATABASE_URL.
type Database struct {
	Postgres bool
	// URL is the pgx connection URL (Prisma's own parameters translated)
	// or the SQLite file path.
	URL string
	// Desc names the database for logs and screens, without a password.
	Desc string
}

// prismaParams are the parameters of Prisma's PostgreSQL URLs that pgx
// does not know: translated (to "") or dropped.
var prismaParams = map[string]string{
	"schema":               "search_path",
	"connection_limit":     "pool_max_conns",
	"pgbouncer":            "",
	"pool_timeout":         "",
	"socket_timeout":       "",
	"sslaccept":            "",
	"statement_cache_size": "",
}

// ParseDatabase reads a database URL the way an app's .env holds it:
// postgres:// or postgresql:// for PostgreSQL (Prisma's parameters such
// as ?schema= understood), a file path, file: or sqlite: for SQLite. A
// relative file: path is resolved, as Prisma does, against prisma/ when
// prisma/schema.prisma exists. Other schemes are refused.
func ParseDatabase(dsn string) (Database, error) {
	scheme, _, hasScheme := strings.Cut(dsn, "://")
	switch {
	case scheme == "postgres" || scheme == "postgresql":
		return parsePostgres(dsn)
	case hasScheme && scheme != "sqlite" && scheme != "file":
		return Database{}, fmt.Errorf("database URL scheme %q: clerk-sync writes to PostgreSQL (postgres://…) or SQLite (a file path, file:…)", scheme)
	}
	path := dsn
	for _, prefix := range []string{"sqlite://", "sqlite:", "file://", "file:"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			path = rest
			if prefix == "file:" && !filepath.IsAbs(path) {
				if _, err := os.Stat(filepath.Join("prisma", "schema.prisma")); err == nil {
					path = filepath.Join("prisma", path)
				}
			}
			break
		}
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return Database{}, fmt.Errorf("database: empty SQLite file name")
	}
	return Database{URL: path, Desc: "sqlite " + path}, nil
}

func parsePostgres(dsn string) (Database, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse's error repeats the URL, password included.
		return Database{}, fmt.Errorf("database URL is not a valid postgres:// URL")
	}
	q := u.Query()
	for name, to := range prismaParams {
		if !q.Has(name) {
			continue
		}
		if to != "" && !q.Has(to) {
			q.Set(to, q.Get(name))
		}
		q.Del(name)
	}
	u.RawQuery = q.Encode()
	desc := "postgres " + u.Host + u.Path
	if user := u.User.Username(); user != "" {
		desc = "postgres " + user + "@" + u.Host + u.Path
	}
	return Database{Postgres: true, URL: u.String(), Desc: desc}, nil
}
