-- The text generations of a date range, for the training-data export
-- (nightdesk.analytics.preferences): the prompt each model call was sent and what came
-- back, which the export pairs with the editors' decisions from the review store.
-- Grain: one row per generation (FINAL collapses a row written twice by a killed task).
-- Covers are left out: a cover's review text is alt text no model wrote. Ordered so the
-- export reads the same rows in the same order on every run.
SELECT
    generation_id, logical_date, story_id, content_kind, facts_digest, attempt,
    generator, writer, fallback, model_id, prompt_template, prompt_version,
    prompt, output, status, created_at
FROM generation_log FINAL
WHERE logical_date BETWEEN {start:Date} AND {end:Date} AND content_kind != {cover:String}
ORDER BY logical_date, story_id, content_kind, attempt, created_at, generation_id
