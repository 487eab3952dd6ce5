package server

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Database is a parsed --db / DATABASE_URL.
type Database struct {
	Postgres bool
	// URL is the pgx connection URL (Prisma's own parameters translated)
	// or the SQLite file path.
	URL string
	// Desc names the database for logs and screens, without a password.
	Desc string
	// Schema is the schema that the URL's ?schema= asks for when it could
	// not be sent at connection (behind PgBouncer): CheckSchema checks
	// that the server's search_path leads there.
	Schema string
}

// CheckSchema checks, when the URL asked for a schema that it cannot
// send (see Schema), that the connections' current schema is that one:
// else the sync's tables and the app's would be looked for elsewhere.
func (db Database) CheckSchema(ctx context.Context) error {
	if db.Schema == "" {
		return nil
	}
	cfg, err := pgxpool.ParseConfig(db.URL) // takes out the pool's own settings
	if err != nil {
		return fmt.Errorf("%s: %w", db.Desc, err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return fmt.Errorf("%s: connect: %w", db.Desc, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var current *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
		return fmt.Errorf("%s: read the current schema: %w", db.Desc, err)
	}
	if current == nil || *current != db.Schema {
		now := "none"
		if current != nil {
			now = strconv.Quote(*current)
		}
		return fmt.Errorf("%s: the URL asks for schema=%s, but behind PgBouncer (pgbouncer=true) clerk-sync cannot set it on its connections, "+
			"and their search_path leads to %s: make it the role's default (ALTER ROLE … SET search_path = %s; the pooler's open connections keep the old one until they are renewed), "+
			"or give clerk-sync the direct URL (Prisma's directUrl)", db.Desc, db.Schema, now, quoteIdent(db.Schema))
	}
	return nil
}

// prismaParams are the parameters of Prisma's PostgreSQL URLs that pgx
// does not know: renamed, or dropped ("").
var prismaParams = map[string]string{
	"schema":               "search_path",
	"connection_limit":     "pool_max_conns",
	"pgbouncer":            "default_query_exec_mode", // =true: see pgxQuery
	"pool_timeout":         "",
	"socket_timeout":       "",
	"sslaccept":            "",
	"statement_cache_size": "",
}

// ParseDatabase reads a database URL the way an app's .env holds it:
// postgres:// or postgresql:// for PostgreSQL (Prisma's parameters such
// as ?schema= understood), a file path, file: or sqlite: for SQLite. A
// relative file: path is resolved, as Prisma does, against prisma/ when
// prisma/schema.prisma exists. Other schemes are refused, and so are
// SQLite names that would not be the file they seem: ":memory:" (gone at
// exit) and a path with a NUL byte (cut short by SQLite).
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
	switch {
	case path == "":
		return Database{}, fmt.Errorf("database: empty SQLite file name")
	case path == ":memory:":
		return Database{}, fmt.Errorf("database :memory:: an in-memory SQLite database is gone when clerk-sync exits, with every user and the ledger of deliveries Clerk was told were applied; name a file, e.g. --db clerk-sync.db")
	case strings.ContainsRune(path, 0):
		return Database{}, fmt.Errorf("database: the SQLite file name has a NUL byte, which would cut it short and open another file")
	}
	return Database{URL: path, Desc: "sqlite " + path}, nil
}

func parsePostgres(dsn string) (Database, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse's error repeats the URL, password included.
		return Database{}, fmt.Errorf("database URL is not a valid postgres:// URL")
	}
	var schema string
	if u.RawQuery, schema, err = pgxQuery(u.RawQuery); err != nil {
		return Database{}, err
	}
	desc := "postgres " + u.Host + u.Path
	if user := u.User.Username(); user != "" {
		desc = "postgres " + user + "@" + u.Host + u.Path
	}
	return Database{Postgres: true, URL: u.String(), Desc: desc, Schema: schema}, nil
}

// pgxQuery rewrites the query of a Prisma URL for pgx, in order. Each
// value means what the app's Prisma client reads (form encoding: + is a
// space) and is written as pgx reads it (libpq's rules: only %XX is
// decoded). ?schema= becomes a quoted search_path, since Prisma keeps the
// schema's case; ?pgbouncer=true, statements that a transaction pooler
// can pass on, and no search_path: schema is then the one asked for.
func pgxQuery(raw string) (query, schema string, err error) {
	type param struct{ key, value string }
	var params []param
	given := map[string]bool{}
	bouncer := false
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, kerr := url.QueryUnescape(rawKey)
		value, verr := url.QueryUnescape(rawValue)
		if kerr != nil || verr != nil {
			// The parameter's value may be a password: not shown.
			return "", "", fmt.Errorf("database URL: the parameter %q has a %% not followed by two hex digits", key)
		}
		given[key] = true
		params = append(params, param{key, value})
		bouncer = bouncer || key == "pgbouncer" && value == "true"
	}
	var b strings.Builder
	for _, p := range params {
		to, prisma := prismaParams[p.key]
		switch {
		case !prisma:
		case to == "" || given[to] || p.value == "":
			continue
		case p.key == "schema" && bouncer:
			// PgBouncer refuses a search_path sent at connection: the
			// server's must lead there (CheckSchema).
			schema = p.value
			continue
		case p.key == "schema":
			p.key, p.value = to, quoteIdent(p.value)
		case p.key == "pgbouncer":
			// Behind PgBouncer in transaction mode a server connection
			// serves one transaction, then another client's: pgx's named,
			// cached prepared statements would meet ones they did not
			// make, or miss their own. Unnamed ones live within a call;
			// cache_describe keeps the binary formats (exec's text ones
			// would depend on the server's datestyle, bytea_output and
			// array_nulls).
			if p.value != "true" {
				continue
			}
			p.key, p.value = to, "cache_describe"
		default:
			p.key = to
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeParam(p.key) + "=" + escapeParam(p.value))
	}
	return b.String(), schema, nil
}

// quoteIdent quotes a PostgreSQL identifier, keeping its case.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// escapeParam percent-encodes every byte of s but letters, digits and
// -._~, which libpq and pgx read back unchanged.
func escapeParam(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
