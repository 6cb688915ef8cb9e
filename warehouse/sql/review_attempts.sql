-- The earlier generation attempts of the date's checked drafts, with the checks each one
-- failed: what the review queue shows an editor under "Previous attempts".
-- Grain: one row per earlier generation (story x kind x facts_digest x attempt x status) of
-- a checked draft; the draft's current generation is left out. A call that raised has a
-- row too (status 'error', its error message, no checks). The failed-check arrays are
-- parallel (same row order); a generation with no failing check gets empty arrays.
-- Only generations written from the same fact sheet (facts_digest) as the current draft
-- count: after the facts change, older attempts describe another story.
WITH current AS (
    SELECT draft_id, story_id, content_kind, facts_digest, attempt, generation_id
    FROM drafts FINAL
    WHERE logical_date = {d:Date} AND status IN ('checked_ok', 'checked_failed')
),
failed AS (
    SELECT generation_id,
           groupArray(check_name) AS failed_checks,
           groupArray(findings_json) AS failed_findings
    FROM draft_checks FINAL
    WHERE logical_date = {d:Date} AND passed = 0
    GROUP BY generation_id
),
log AS (
    SELECT generation_id, story_id, content_kind, facts_digest, attempt, generator, model_id,
           substringUTF8(output, 1, {max_chars:UInt32}) AS output, lengthUTF8(output) AS output_chars,
           status, error, created_at
    FROM generation_log FINAL
    WHERE logical_date = {d:Date}
)
SELECT
    c.draft_id AS draft_id, g.generation_id AS generation_id, g.attempt AS attempt,
    g.generator AS generator, g.model_id AS model_id, g.output AS output,
    g.output_chars AS output_chars, g.status AS status, g.error AS error, g.created_at AS created_at,
    f.failed_checks AS failed_checks, f.failed_findings AS failed_findings
FROM log AS g
INNER JOIN current AS c
    ON c.story_id = g.story_id AND c.content_kind = g.content_kind AND c.facts_digest = g.facts_digest
LEFT JOIN failed AS f ON f.generation_id = g.generation_id
WHERE g.generation_id != c.generation_id AND g.attempt <= c.attempt
ORDER BY draft_id, attempt, created_at, generation_id
