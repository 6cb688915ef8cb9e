-- The current version of every draft of the date that has not been checked yet, with the
-- parameters its generation was logged with (a cover's size and safety flag) and the
-- check results already stored for that generation: a task killed after storing them
-- and before writing the draft's status left them (stored_checks > 0; stored_passed is
-- 1 when every check passed). Unmatched LEFT JOIN rows give 0 for both.
SELECT d.draft_id AS draft_id, d.story_id AS story_id, d.content_kind AS content_kind, d.attempt AS attempt,
       d.generation_id AS generation_id, d.generator AS generator, d.text AS text,
       d.media_sha256 AS media_sha256, d.facts_json AS facts_json, g.params AS params,
       c.stored_checks AS stored_checks, c.stored_passed AS stored_passed
FROM (
    SELECT * FROM drafts FINAL
    WHERE logical_date = {d:Date} AND status = 'generated'
) AS d
LEFT JOIN (
    SELECT generation_id, any(params) AS params FROM generation_log
    WHERE logical_date = {d:Date}
    GROUP BY generation_id
) AS g ON g.generation_id = d.generation_id
LEFT JOIN (
    SELECT generation_id, count() AS stored_checks, min(passed) AS stored_passed FROM draft_checks
    WHERE logical_date = {d:Date}
    GROUP BY generation_id
) AS c ON c.generation_id = d.generation_id
ORDER BY d.draft_id
