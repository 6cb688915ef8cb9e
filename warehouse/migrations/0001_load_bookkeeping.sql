-- Bookkeeping for every load: one row per source batch, and the quarantine where each
-- rejected source row is kept verbatim with the reason it was rejected.
-- Quarantine is partitioned by (source, logical date) so a rerun swaps exactly the rows
-- that batch produced and never duplicates them.

CREATE TABLE IF NOT EXISTS load_log
(
    batch_id          String,
    source            LowCardinality(String),
    extractor         LowCardinality(String),
    logical_date      Date,
    rows_extracted    UInt64,
    rows_loaded       UInt64,
    rows_quarantined  UInt64,
    status            LowCardinality(String),
    error             String,
    started_at        DateTime64(3, 'UTC'),
    finished_at       DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(logical_date)
ORDER BY (source, logical_date, started_at);

CREATE TABLE IF NOT EXISTS quarantine
(
    _source        LowCardinality(String),
    _logical_date  Date,
    _batch_id      String,
    row_number     UInt64,
    record         String CODEC(ZSTD(3)),
    reason         String,
    _loaded_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY (_source, _logical_date)
ORDER BY (_source, _logical_date, row_number);
