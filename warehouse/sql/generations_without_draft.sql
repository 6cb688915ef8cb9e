-- Generations of the date logged as ok whose draft row was never written: the task died
-- between the generation_log insert and the drafts insert (nightdesk.content.records.save).
-- Only a generation newer than its draft's latest attempt counts (an older one was
-- superseded); an unmatched LEFT JOIN gives attempt 0, so a draft never written counts.
-- Ordered by attempt, so the newest of a draft's lost generations comes last.
SELECT g.generation_id AS generation_id, g.story_id AS story_id, g.content_kind AS content_kind,
       g.facts_digest AS facts_digest, g.attempt AS attempt, g.generator AS generator,
       g.model_id AS model_id, g.model_revision AS model_revision,
       g.prompt_template AS prompt_template, g.prompt_version AS prompt_version, g.output AS output,
       g.media_url AS media_url, g.media_sha256 AS media_sha256, g.media_bytes AS media_bytes,
       g.fallback AS fallback
FROM generation_log AS g
LEFT JOIN (
    SELECT story_id, content_kind, max(attempt) AS attempt
    FROM drafts
    WHERE logical_date = {d:Date}
    GROUP BY story_id, content_kind
) AS c ON c.story_id = g.story_id AND c.content_kind = g.content_kind
WHERE g.logical_date = {d:Date} AND g.status = 'ok' AND g.content_kind IN {k:Array(String)}
  AND g.generation_id NOT IN (SELECT generation_id FROM drafts WHERE logical_date = {d:Date})
  AND g.attempt > ifNull(c.attempt, 0)
ORDER BY story_id, content_kind, attempt
