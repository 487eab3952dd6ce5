-- The default users table as `prisma migrate` creates the model of
-- DESIGN §4 on SQLite (plus the nullable "deletedAt" that --on-delete soft
-- sets). Prisma keeps DateTime values on SQLite as Unix milliseconds, and
-- so do we. It is left alone when the app already has one.
CREATE TABLE IF NOT EXISTS "User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "clerkId" TEXT NOT NULL,
    "email" TEXT,
    "firstName" TEXT,
    "lastName" TEXT,
    "username" TEXT,
    "imageUrl" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "deletedAt" DATETIME
);
CREATE UNIQUE INDEX IF NOT EXISTS "User_clerkId_key" ON "User"("clerkId");

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
