-- The current version of every draft of the date that has not been checked yet.
SELECT draft_id, story_id, content_kind, attempt, generation_id, generator, text, media_sha256, facts_json
FROM drafts FINAL
WHERE logical_date = {d:Date} AND status = 'generated'
ORDER BY draft_id
