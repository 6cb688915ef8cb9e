-- The date's (story, kind, facts digest) whose latest attempt failed alone: its last logged
-- generation is an error, and no draft holds that attempt or a later one. Each is owed its
-- next attempt, one past the latest tried, so an item that fails every time still moves on
-- to a new seed and then to the fallback instead of failing the night; one whose latest
-- try was by a writer of last resort (generator) is not retried, and is what is left.
SELECT g.story_id AS story_id, g.content_kind AS content_kind, g.facts_digest AS facts_digest,
       g.last_attempt AS attempt, g.last_generator AS generator
FROM (
    SELECT story_id, content_kind, facts_digest, max(attempt) AS last_attempt,
           argMax(status, (attempt, created_at)) AS last_status,
           argMax(generator, (attempt, created_at)) AS last_generator
    FROM generation_log FINAL
    WHERE logical_date = {d:Date}
    GROUP BY story_id, content_kind, facts_digest
) AS g
LEFT JOIN (
    SELECT story_id, content_kind, facts_digest, max(attempt) AS drafted
    FROM drafts FINAL
    WHERE logical_date = {d:Date}
    GROUP BY story_id, content_kind, facts_digest
) AS d ON d.story_id = g.story_id AND d.content_kind = g.content_kind AND d.facts_digest = g.facts_digest
WHERE g.last_status = 'error' AND ifNull(d.drafted, 0) < g.last_attempt
ORDER BY story_id, content_kind
