-- Join keys and measures for analysts (issue 11).
--
-- generation_log, per row (one row = one request to a generator = one generation):
--   call_id         one per request sent to a model, template or chart renderer. Today one
--                   request makes one generation, so it equals generation_id.
--   batch_id        one per model call (a transformers ``generate``, a diffusers pipeline
--                   call); rows sharing it ran together and share its wall time. A template
--                   or chart card is its own batch of one.
--   enqueued_at     when the content task handed the request to its writer (the start of
--                   the writer's chunk: a request that waited behind another model call of
--                   the same chunk has enqueued_at before that call started).
--   first_token_at  when the first new token's logits of the request's model call were
--                   ready (prefill plus one decoding step; on CUDA after a synchronize).
--                   All rows of a batch get their first token at the same step. NULL for
--                   writers that produce no tokens (templates, chart cards, diffusion).
--   finished_at     when the model call that made the request returned (a batch returns
--                   all its rows together).
--   device_seconds  device time of this request: its equal share of its batch's wall time
--                   (latency_ms / 1000 / batch_size), so summing device_seconds over the
--                   rows of a batch gives the batch's wall time exactly once.
--   prompt_name     readable name of the prompt source: ``text_prompt/<kind>`` (the model's
--                   frame nightdesk/content/text_prompt.txt), ``template/<kind>`` (the story
--                   type's data-to-text template), ``cover_prompt/cover``; its versions are
--                   in prompt_registry.
--   load_time_ms    wall time the writer that made the row spent loading its model in that
--                   task try (same on every row the writer wrote in the try; 0 for writers
--                   that load no model: templates, chart cards).
--   latency_ms keeps its meaning: wall time of the whole model call (batch) the row was in.
--   try_number (migration 0008) is the Airflow task try that wrote the row.
--   fallback (migration 0009): 1 when a template or chart card wrote the draft because the
--   model's attempts failed their checks; 0 when templates were the configured writer.
-- Rows written before this migration get: call_id = generation_id, batch_id = '',
-- enqueued_at = finished_at = created_at, first_token_at NULL, device_seconds =
-- latency_ms / 1000 / batch_size, prompt_name = prompt_template, load_time_ms 0.
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS call_id String DEFAULT generation_id;
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS batch_id String DEFAULT '';
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS enqueued_at DateTime64(3, 'UTC') DEFAULT created_at;
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS first_token_at Nullable(DateTime64(3, 'UTC'));
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS finished_at DateTime64(3, 'UTC') DEFAULT created_at;
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS device_seconds Float64
    DEFAULT latency_ms / 1000 / greatest(batch_size, 1);
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS prompt_name LowCardinality(String) DEFAULT prompt_template;
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS load_time_ms Float64 DEFAULT 0;

-- One row per prompt version: what the 12-character prompt_version of generation_log
-- stands for. prompt_text is the unrendered source the version hashes (system message,
-- frame, the story type's template and the kind's instruction and limits), facts left as
-- placeholders. Written by the content tasks whenever they use a version; a version seen
-- again is not written again, and first_seen_at is the earliest use (ReplacingMergeTree
-- keeps one row per version; read with FINAL).
CREATE TABLE IF NOT EXISTS prompt_registry
(
    prompt_version  String,
    prompt_name     LowCardinality(String),
    prompt_text     String CODEC(ZSTD(3)),
    first_seen_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (prompt_version);

-- Price of an hour of each device (generation_log.device: cpu, cuda, cuda:1...), from the
-- configuration file warehouse/device_prices.yml (NIGHTDESK_DEVICE_PRICES may point at
-- another), loaded on every migrate and run. A price applies from effective_from until the
-- next effective_from of the same device. Reloading the same file adds no rows that FINAL
-- shows; a changed price for the same (device, effective_from) replaces the old one.
-- Cost of a generation = device_seconds / 3600 * usd_per_hour.
CREATE TABLE IF NOT EXISTS device_prices
(
    device          LowCardinality(String),
    usd_per_hour    Float64,
    effective_from  Date,
    updated_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (device, effective_from);

-- stories.first_selected_at: when the story (story_id) was first selected; a rerun that
-- selects it again keeps the first time (selected_at is the latest selection).
-- stories.load_ids: load_log.batch_id of each load whose rows the story's marts were built
-- from on its logical date: for every source behind the marts its candidates query reads,
-- the batch now in that source's raw table for the date. Earlier days a windowed query
-- compares with (e.g. the previous 7 days) are not listed.
ALTER TABLE stories ADD COLUMN IF NOT EXISTS first_selected_at DateTime64(3, 'UTC') DEFAULT selected_at;
ALTER TABLE stories ADD COLUMN IF NOT EXISTS load_ids Array(String);

-- draft_checks.check_ms: milliseconds the check stage spent checking the draft's
-- generation (all its checks together); the same on each check row of that generation.
ALTER TABLE draft_checks ADD COLUMN IF NOT EXISTS check_ms Float64 DEFAULT 0;

-- review_events.generation_id: the generation the draft held when the event happened,
-- copied from the review store's audit row: for a decision, the generation the editor
-- decided on, kept even when the draft is refreshed with a newer generation later. Empty
-- for events recorded before the review store kept it.
ALTER TABLE review_events ADD COLUMN IF NOT EXISTS generation_id String DEFAULT '';
