-- Editorial layer for analysts: what editors did with the drafts, and what went public.
--
-- The review queue itself lives in a transactional store (SQLite/PostgreSQL, see
-- nightdesk.review); its append-only audit trail is copied here by the publish DAG's
-- export step (nightdesk.review_flow.events). The web UI never writes to ClickHouse:
-- the embedded chDB warehouse admits one process, and that process is Airflow's.

-- One row per audit event of the review store (enqueue, claim, edit, approve, reject,
-- publish, withdraw, conflict...). ``review_store`` names the store (its URL, password
-- masked) because event ids are only unique within one store. The export re-reads
-- from the highest id it has stored, so an event written twice (a task killed between
-- insert and acknowledgement) shares its key and ReplacingMergeTree keeps one copy;
-- queries that must not see the duplicate before a merge use FINAL.
-- Analysts ask "what did editors do on a day" and "how long from enqueue to decision
-- for a story", so day and action lead the key and story_id has a bloom filter.
CREATE TABLE IF NOT EXISTS review_events
(
    review_store   LowCardinality(String),
    event_id       UInt64,
    at             DateTime64(3, 'UTC'),
    action         LowCardinality(String),
    actor          LowCardinality(String),
    draft_id       String,
    story_id       String,
    story_type     LowCardinality(String),
    content_kind   LowCardinality(String),
    logical_date   Date,
    from_state     LowCardinality(String),
    to_state       LowCardinality(String),
    details_json   String CODEC(ZSTD(3)),
    exported_at    DateTime64(3, 'UTC'),
    INDEX idx_story story_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(exported_at)
PARTITION BY toYYYYMM(at)
ORDER BY (review_store, toDate(at), action, event_id);

-- One row per change of a story on a published site: ``published`` (first time),
-- ``updated`` (its page or cover changed, e.g. a summary approved later) or
-- ``withdrawn`` (no longer publishable, so removed from the pages and feeds).
-- Publishing the same approved stories again logs nothing: the publish step compares
-- each story's files with the last row for (output_url, story_id). ``paths`` and
-- ``sha256s`` are parallel arrays of the story's files (page, cover) relative to
-- ``output_url``; a withdrawal lists the files that were removed.
CREATE TABLE IF NOT EXISTS publications
(
    publication_id  String,
    output_url      String,
    story_id        String,
    story_type      LowCardinality(String),
    logical_date    Date,
    action          LowCardinality(String),
    draft_ids       Array(String),
    paths           Array(String),
    sha256s         Array(String),
    content_sha256  String,
    approved_by     String,
    approved_at     Nullable(DateTime64(3, 'UTC')),
    published_at    DateTime64(3, 'UTC'),
    dag_id          LowCardinality(String),
    dag_run_id      String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(published_at)
ORDER BY (output_url, story_id, published_at);
