-- Version and tombstone per entity, keyed by kind and Clerk id: users,
-- organizations and memberships follow the same rules. The users'
-- bookkeeping moves here unchanged.
CREATE TABLE clerk_sync_entities (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    digest     INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

INSERT INTO clerk_sync_entities (kind, id, version, digest, deleted, changed_at)
SELECT 'user', user_id, version, digest, deleted, changed_at FROM clerk_sync_users;

DROP TABLE clerk_sync_users;

-- Which entity belongs to which (a membership to its organization and its
-- user): a parent's tombstone tombstones its children and removes their
-- rows, whatever order the events came in.
CREATE TABLE clerk_sync_links (
    parent_kind TEXT NOT NULL,
    parent_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    PRIMARY KEY (parent_kind, parent_id, kind, id)
) WITHOUT ROWID;
