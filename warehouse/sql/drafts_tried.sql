-- The drafts of the date with a generation logged, ok or failed alone: a rerun or a
-- restarted task does not write their first attempt again. A failed one is the quality
-- stage's to retry at its next attempt (items_failed_alone.sql).
SELECT DISTINCT story_id, content_kind, facts_digest
FROM generation_log FINAL
WHERE logical_date = {d:Date} AND content_kind IN {k:Array(String)}
