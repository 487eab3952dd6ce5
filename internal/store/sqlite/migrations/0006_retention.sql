-- Retention: bodies are emptied after a while, and at once when their
-- user is deleted. These indexes find the bodies still kept, by age and
-- by user; an emptied body leaves them.
CREATE INDEX clerk_sync_deliveries_kept ON clerk_sync_deliveries (received_at) WHERE length(payload) > 0;
CREATE INDEX clerk_sync_deliveries_kept_user ON clerk_sync_deliveries (user_id) WHERE length(payload) > 0;
