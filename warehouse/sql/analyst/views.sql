-- The analyst views of this database (warehouse/migrations/0011_analyst_views.sql).
SELECT name
FROM system.tables
WHERE database = currentDatabase() AND engine = 'View' AND startsWith(name, 'analyst_')
