-- The apply function is generated from the mapping at start-up now
-- (clerk_sync_apply_<hash>); the fixed one of early builds goes.
DROP FUNCTION IF EXISTS clerk_sync_apply(TEXT, TEXT, TEXT, BIGINT, BOOLEAN, BOOLEAN, TEXT, TEXT, TEXT, TEXT, TEXT, TIMESTAMP, TIMESTAMP, TIMESTAMPTZ, BYTEA);
