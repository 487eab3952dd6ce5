-- Matches postgres/migrations/0003_mapping.sql, which drops the fixed apply
-- function of early builds; SQLite has none.
SELECT 1;
