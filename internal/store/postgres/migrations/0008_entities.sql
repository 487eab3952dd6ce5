-- Version and tombstone per entity, keyed by kind and Clerk id: users,
-- organizations and memberships follow the same rules. The users'
-- bookkeeping moves here unchanged. Replicas of an older release stop
-- working once this ran (their apply function names clerk_sync_users):
-- upgrade them together.
CREATE TABLE clerk_sync_entities (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    BIGINT NOT NULL,
    digest     BIGINT NOT NULL DEFAULT 0,
    deleted    BOOLEAN NOT NULL DEFAULT false,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);

INSERT INTO clerk_sync_entities (kind, id, version, digest, deleted, changed_at)
SELECT 'user', user_id, version, digest, deleted, changed_at FROM clerk_sync_users;

DROP TABLE clerk_sync_users CASCADE;

-- Which entity belongs to which (a membership to its organization and its
-- user): a parent's tombstone tombstones its children and removes their
-- rows, whatever order the events came in.
CREATE TABLE clerk_sync_links (
    parent_kind TEXT NOT NULL,
    parent_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    PRIMARY KEY (parent_kind, parent_id, kind, id)
);
