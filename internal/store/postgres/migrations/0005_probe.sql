-- Matches sqlite/migrations/0005_probe.sql, whose table lets readiness
-- commit a write; PostgreSQL's readiness asks the server instead.
SELECT 1;
