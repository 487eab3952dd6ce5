-- The inspector pages through the ledger by time.
CREATE INDEX clerk_sync_deliveries_received_at ON clerk_sync_deliveries (received_at);
