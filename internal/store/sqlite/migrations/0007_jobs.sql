-- Where a backfill or reconcile run stands, so that the next run resumes.
CREATE TABLE clerk_sync_jobs (
    name       TEXT PRIMARY KEY,
    state      BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
