-- Two changes of one entity with the same version are ordered by a digest
-- of their data, so that every delivery order ends the same; rows from
-- before have 0 and lose every tie.
ALTER TABLE clerk_sync_users ADD COLUMN digest BIGINT NOT NULL DEFAULT 0;
