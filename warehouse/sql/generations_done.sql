-- Generations of the date already logged as ok: a rerun or a restarted task skips them.
SELECT story_id, content_kind, facts_digest, attempt
FROM generation_log FINAL
WHERE logical_date = {d:Date} AND content_kind IN {k:Array(String)} AND status = 'ok'
