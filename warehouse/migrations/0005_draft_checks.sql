-- Automatic check results, one row per check per generated draft attempt, so analysts
-- (and editors) can see why each attempt passed or failed. Keyed by the generation that
-- produced the checked output; a re-check of the same generation replaces its rows.
CREATE TABLE IF NOT EXISTS draft_checks
(
    logical_date   Date,
    draft_id       String,
    generation_id  String,
    attempt        UInt8,
    content_kind   LowCardinality(String),
    check_name     LowCardinality(String),
    passed         UInt8,
    findings_json  String CODEC(ZSTD(3)),
    checked_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(checked_at)
PARTITION BY toYYYYMM(logical_date)
ORDER BY (logical_date, draft_id, attempt, check_name);
