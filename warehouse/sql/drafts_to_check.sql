-- The current version of every draft of the date that has not been checked yet, with the
-- parameters its generation was logged with (a cover's size and safety flag).
SELECT d.draft_id, d.story_id, d.content_kind, d.attempt, d.generation_id, d.generator, d.text,
       d.media_sha256, d.facts_json, g.params
FROM (
    SELECT * FROM drafts FINAL
    WHERE logical_date = {d:Date} AND status = 'generated'
) AS d
LEFT JOIN (
    SELECT generation_id, any(params) AS params FROM generation_log
    WHERE logical_date = {d:Date}
    GROUP BY generation_id
) AS g USING (generation_id)
ORDER BY d.draft_id
