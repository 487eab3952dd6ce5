-- The default users table, exactly as `prisma migrate` creates the model of
-- DESIGN §4 (plus the nullable "deletedAt" that --on-delete soft sets). It is
-- left alone when the app already has one.
CREATE TABLE IF NOT EXISTS "User" (
    "id" TEXT NOT NULL,
    "clerkId" TEXT NOT NULL,
    "email" TEXT,
    "firstName" TEXT,
    "lastName" TEXT,
    "username" TEXT,
    "imageUrl" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX IF NOT EXISTS "User_clerkId_key" ON "User"("clerkId");

-- The ledger: one row per svix-id.
CREATE TABLE clerk_sync_deliveries (
    svix_id     TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    user_id     TEXT,
    outcome     TEXT NOT NULL,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 1,
    received_at TIMESTAMPTZ NOT NULL,
    payload     BYTEA NOT NULL
);

-- Per-user version and tombstone. A tombstone keeps the version of the
-- user.deleted that made it, whatever came before, so that every delivery
-- order leaves the same state.
CREATE TABLE clerk_sync_users (
    user_id    TEXT PRIMARY KEY,
    version    BIGINT NOT NULL,
    deleted    BOOLEAN NOT NULL DEFAULT false,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One delivery in one round trip. "clerkId" is the key (the seed plan's
-- upsert key): a table whose "id" is the app's own keeps it. Each statement of a plpgsql function
-- takes a fresh snapshot, so once the state row is locked the user row is
-- seen as the last committed writer left it, whatever other replicas did.
CREATE FUNCTION clerk_sync_apply(
    p_svix_id TEXT, p_type TEXT, p_user_id TEXT, p_version BIGINT,
    p_deleted BOOLEAN, p_soft BOOLEAN,
    p_email TEXT, p_first_name TEXT, p_last_name TEXT, p_username TEXT, p_image_url TEXT,
    p_created_at TIMESTAMP, p_updated_at TIMESTAMP,
    p_received_at TIMESTAMPTZ, p_payload BYTEA
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    v_outcome TEXT := 'stale';
BEGIN
    IF p_deleted THEN
        INSERT INTO clerk_sync_users AS s (user_id, version, deleted)
        VALUES (p_user_id, p_version, true)
        ON CONFLICT (user_id) DO UPDATE
            SET deleted = true, version = excluded.version, changed_at = now()
            WHERE NOT s.deleted;
        IF FOUND THEN
            v_outcome := 'applied';
            IF p_soft THEN
                UPDATE "User" SET "deletedAt" = to_timestamp(p_version / 1000.0) AT TIME ZONE 'UTC'
                WHERE "clerkId" = p_user_id;
            ELSE
                DELETE FROM "User" WHERE "clerkId" = p_user_id;
            END IF;
        END IF;
    ELSE
        INSERT INTO clerk_sync_users AS s (user_id, version)
        VALUES (p_user_id, p_version)
        ON CONFLICT (user_id) DO UPDATE
            SET version = excluded.version, changed_at = now()
            WHERE NOT s.deleted AND s.version < excluded.version;
        IF FOUND THEN
            v_outcome := 'applied';
            INSERT INTO "User" ("id", "clerkId", "email", "firstName", "lastName", "username", "imageUrl", "createdAt", "updatedAt")
            VALUES (p_user_id, p_user_id, p_email, p_first_name, p_last_name, p_username, p_image_url, p_created_at, p_updated_at)
            ON CONFLICT ("clerkId") DO UPDATE SET
                "email" = excluded."email",
                "firstName" = excluded."firstName",
                "lastName" = excluded."lastName",
                "username" = excluded."username",
                "imageUrl" = excluded."imageUrl",
                "createdAt" = excluded."createdAt",
                "updatedAt" = excluded."updatedAt";
        END IF;
    END IF;

    -- A done svix-id is a duplicate. Its version is the one already applied
    -- (or older), so the statements above changed nothing.
    INSERT INTO clerk_sync_deliveries AS d (svix_id, event_type, user_id, outcome, received_at, payload)
    VALUES (p_svix_id, p_type, p_user_id, v_outcome, p_received_at, p_payload)
    ON CONFLICT (svix_id) DO UPDATE
        SET event_type = excluded.event_type, user_id = excluded.user_id, outcome = excluded.outcome,
            error = NULL, attempts = d.attempts + 1, received_at = excluded.received_at, payload = excluded.payload
        WHERE d.outcome IN ('failed', 'rejected');
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    RETURN v_outcome;
END
$$;
