-- The date's checked drafts with the check results of their current generation and the
-- model (or template, or chart card) that wrote them: everything the review queue shows an editor.
-- Grain: one row per draft (story x kind). The check arrays are parallel (same row order).
WITH checks AS (
    SELECT draft_id, generation_id,
           groupArray(check_name) AS check_names,
           groupArray(passed) AS check_passed,
           groupArray(findings_json) AS check_findings,
           groupArray(verified) AS check_verified
    FROM draft_checks FINAL
    WHERE logical_date = {d:Date}
    GROUP BY draft_id, generation_id
),
models AS (
    SELECT generation_id, any(model_id) AS model_id
    FROM generation_log
    WHERE logical_date = {d:Date} AND status = 'ok'
    GROUP BY generation_id
)
SELECT
    d.draft_id AS draft_id, d.story_id AS story_id, d.story_type AS story_type,
    d.content_kind AS content_kind, d.attempt AS attempt, d.generation_id AS generation_id,
    d.generator AS generator, d.writer AS writer, d.fallback AS fallback, d.failed_attempts AS failed_attempts,
    m.model_id AS model_id, d.text AS text, d.media_url AS media_url,
    d.media_sha256 AS media_sha256, d.facts_json AS facts_json, d.status AS status,
    c.check_names AS check_names, c.check_passed AS check_passed, c.check_findings AS check_findings,
    c.check_verified AS check_verified
FROM (
    SELECT * FROM drafts FINAL
    WHERE logical_date = {d:Date} AND status IN ('checked_ok', 'checked_failed')
) AS d
LEFT JOIN checks AS c ON c.draft_id = d.draft_id AND c.generation_id = d.generation_id
LEFT JOIN models AS m ON m.generation_id = d.generation_id
ORDER BY d.draft_id
