-- Generations of the date already logged, ok or failed alone: a rerun or a restarted task
-- skips them. A failed one is the quality stage's to retry at its next attempt
-- (items_failed_alone.sql); writing its first attempt again would race that.
SELECT story_id, content_kind, facts_digest, attempt
FROM generation_log FINAL
WHERE logical_date = {d:Date} AND content_kind IN {k:Array(String)}
