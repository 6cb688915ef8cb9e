-- The date's current headline drafts with their check outcome, for the run summary.
SELECT story_id, generator, status, text
FROM drafts FINAL
WHERE logical_date = {d:Date} AND content_kind = 'headline'
ORDER BY story_id
