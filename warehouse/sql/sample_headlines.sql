-- The date's headline drafts, for the run summary.
SELECT story_id, text
FROM drafts FINAL
WHERE logical_date = {d:Date} AND content_kind = 'headline'
ORDER BY story_id
