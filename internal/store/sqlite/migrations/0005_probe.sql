-- Readiness commits a real change, as a delivery would: a row rewritten
-- with the same values changes no page, so this counter goes up instead.
CREATE TABLE clerk_sync_probe (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    writes INTEGER NOT NULL
);
INSERT INTO clerk_sync_probe (id, writes) VALUES (1, 0);
