-- The users table is not created here: the mapping decides which table it
-- is, and clerk-sync creates it only when it is the default (mapping.DDL).

-- The ledger: one row per svix-id. Times are Unix milliseconds.
CREATE TABLE clerk_sync_deliveries (
    svix_id     TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    user_id     TEXT,
    outcome     TEXT NOT NULL,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 1,
    received_at INTEGER NOT NULL,
    payload     BLOB NOT NULL
);

-- Per-user version and tombstone. A tombstone keeps the version of the
-- user.deleted that made it, whatever came before, so that every delivery
-- order leaves the same state.
CREATE TABLE clerk_sync_users (
    user_id    TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL
);
