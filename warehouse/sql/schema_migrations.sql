-- The ledger of applied migrations (created before any migration runs).
-- ReplacingMergeTree on version: re-recording a version after a crash cannot duplicate it.
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version;
