package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/clerk-sync/clerk-sync/internal/mapping"
	"github.com/clerk-sync/clerk-sync/internal/pgtest"
	"github.com/clerk-sync/clerk-sync/internal/server"
)

// ceilingScript is one delivery as plain SQL, in one transaction: the three
// statements of clerk_sync_apply (internal/store/postgres/migrations) for a
// user.updated that applies. The version grows with the clock so that the
// conditional upsert does write, as most real deliveries do.
const ceilingScript = `\set uid random(1, :users)
BEGIN;
INSERT INTO clerk_sync_entities AS s (kind, id, version) VALUES ('user', 'user_' || :uid, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, changed_at = now() WHERE NOT s.deleted AND s.version < excluded.version;
INSERT INTO "User" ("id", "clerkId", "email", "firstName", "lastName", "username", "imageUrl", "createdAt", "updatedAt") VALUES ('user_' || :uid, 'user_' || :uid, 'ada' || :uid || '@example.com', 'Ada', 'Lovelace', NULL, 'https://img.clerk.com/eyJ0eXBlIjoicHJveHkiLCJzcmMiOiJodHRwcz', now(), now()) ON CONFLICT ("id") DO UPDATE SET "email" = excluded."email", "firstName" = excluded."firstName", "lastName" = excluded."lastName", "username" = excluded."username", "imageUrl" = excluded."imageUrl", "createdAt" = excluded."createdAt", "updatedAt" = excluded."updatedAt";
INSERT INTO clerk_sync_deliveries AS d (svix_id, event_type, user_id, outcome, received_at, payload) VALUES ('msg_' || md5(random()::text), 'user.updated', 'user_' || :uid, 'applied', now(), :payload) ON CONFLICT (svix_id) DO UPDATE SET event_type = excluded.event_type, user_id = excluded.user_id, outcome = excluded.outcome, error = NULL, attempts = d.attempts + 1, received_at = excluded.received_at, payload = excluded.payload WHERE d.outcome IN ('failed', 'rejected');
END;
`

// ceilingSeconds is how long pgbench runs at each client count.
const ceilingSeconds = 10

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)

// ceiling runs pgbench with ceilingScript at clients clients against a
// freshly migrated database and returns its transactions per second.
func ceiling(ctx context.Context, cl *pgtest.Cluster, dir string, clients, users int, payload []byte) (float64, error) {
	url, err := freshPostgres(ctx, cl, fmt.Sprintf("ceiling_c%d", clients))
	if err != nil {
		return 0, err
	}
	// The receiver's own migrations make the schema.
	st, _, err := server.OpenStore(ctx, url, mapping.Default())
	if err != nil {
		return 0, fmt.Errorf("migrate ceiling database: %w", err)
	}
	st.Close()
	script := filepath.Join(dir, "ceiling.sql")
	if err := os.WriteFile(script, []byte(ceilingScript), 0o644); err != nil {
		return 0, fmt.Errorf("write pgbench script: %w", err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(cl.BinDir(), "pgbench"),
		"-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(2, clients)),
		"-T", strconv.Itoa(ceilingSeconds), "-M", "prepared", "-n",
		"-D", "users="+strconv.Itoa(users),
		// Sent as a parameter each time, like the receiver's raw body.
		"-D", `payload=\x`+hex.EncodeToString(payload),
		"-f", script, url)
	cmd.Env = cleanEnv("PG")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench -c %d: %w\n%s", clients, err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench -c %d: no tps in its output:\n%s", clients, out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// freshPostgres creates the database name and checkpoints the cluster, so
// that no checkpoint of an earlier run's writes lands in this one.
func freshPostgres(ctx context.Context, cl *pgtest.Cluster, name string) (string, error) {
	url, err := cl.CreateDatabase(ctx, name)
	if err != nil {
		return "", err
	}
	err = withConn(ctx, cl, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CHECKPOINT")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	return url, nil
}

// settings reads the named server settings back with SHOW.
func settings(ctx context.Context, cl *pgtest.Cluster, names ...string) ([]string, error) {
	vals := make([]string, len(names))
	err := withConn(ctx, cl, func(conn *pgx.Conn) error {
		for i, name := range names {
			if err := conn.QueryRow(ctx, "SHOW "+name).Scan(&vals[i]); err != nil {
				return fmt.Errorf("show %s: %w", name, err)
			}
		}
		return nil
	})
	return vals, err
}

// withConn runs f on a connection to the cluster's postgres database.
func withConn(ctx context.Context, cl *pgtest.Cluster, f func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, cl.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return f(conn)
}
