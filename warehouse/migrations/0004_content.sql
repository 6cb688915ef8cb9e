-- Content layer: the day's chosen stories with their fact sheets, every generation
-- (text or image) in a log modelled on LLM-observability stores (Langfuse observations,
-- Helicone's request log), and the drafts handed to the quality stage.

-- Stories chosen for a date; the date's partition is replaced when stories are re-selected.
CREATE TABLE IF NOT EXISTS stories
(
    logical_date   Date,
    story_id       String,
    story_type     LowCardinality(String),
    rank           UInt16,
    score          Float64,
    title          String,
    facts_json     String CODEC(ZSTD(3)),
    facts_digest   String,
    selected_at    DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY logical_date
ORDER BY (story_type, rank, story_id);

-- One row per model call. Analysts query it by day, model and prompt version, so those
-- lead the sort key; prompts and outputs are compressed. The key
-- (logical_date, story_id, content_kind, facts_digest, attempt) identifies a generation:
-- the content tasks skip keys already logged as ok, and ReplacingMergeTree collapses a
-- row written twice by a task killed between insert and acknowledgement. A failed call
-- keeps its own row (status is part of the key) beside the later successful one.
CREATE TABLE IF NOT EXISTS generation_log
(
    generation_id        String,
    logical_date         Date,
    dag_id               LowCardinality(String),
    dag_run_id           String,
    story_id             String,
    story_type           LowCardinality(String),
    content_kind         LowCardinality(String),
    facts_digest         String,
    attempt              UInt8,
    generator            LowCardinality(String),
    model_id             LowCardinality(String),
    model_revision       String,
    prompt_template      LowCardinality(String),
    prompt_version       String,
    params               Map(String, String),
    prompt               String CODEC(ZSTD(3)),
    output               String CODEC(ZSTD(3)),
    input_tokens         UInt32,
    output_tokens        UInt32,
    latency_ms           Float64,
    time_to_first_token_ms Nullable(Float64),
    device               LowCardinality(String),
    batch_size           UInt16,
    seed                 UInt64,
    status               LowCardinality(String),
    error                String,
    created_at           DateTime64(3, 'UTC'),
    INDEX idx_story story_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(logical_date)
ORDER BY (logical_date, model_id, prompt_template, story_id, content_kind, facts_digest, attempt, status);

-- The current draft of each story and kind, with the fact sheet it was written from.
CREATE TABLE IF NOT EXISTS drafts
(
    draft_id        String,
    logical_date    Date,
    story_id        String,
    story_type      LowCardinality(String),
    content_kind    LowCardinality(String),
    facts_digest    String,
    attempt         UInt8,
    generation_id   String,
    generator       LowCardinality(String),
    text            String CODEC(ZSTD(3)),
    media_url       String,
    media_sha256    String,
    media_bytes     UInt64,
    facts_json      String CODEC(ZSTD(3)),
    status          LowCardinality(String),
    created_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(logical_date)
ORDER BY (logical_date, draft_id);
