-- Generations per date, kind and model: what the content runs produced, what the checks
-- made of it, and what it cost.
--   generated      calls that returned a text or image (status ok)
--   call_errors    calls that raised (status error): a model crash, not a bad draft
--   checks_failed  generated drafts that failed at least one automatic check (each led to
--                  a regeneration, a fallback, or a draft queued as failing)
--   fallbacks      drafts a template or chart card wrote after the model's attempts failed
--   device_s       device time in seconds (each row's share of its batch's wall time)
WITH verdicts AS (
    SELECT generation_id, min(passed) AS passed
    FROM draft_checks FINAL
    WHERE logical_date BETWEEN {start:Date} AND {end:Date}
    GROUP BY generation_id
)
SELECT
    g.logical_date                                      AS logical_date,
    g.content_kind                                      AS content_kind,
    g.generator                                         AS generator,
    g.model_id                                          AS model_id,
    countIf(g.status = 'ok')                            AS generated,
    countIf(g.status != 'ok')                           AS call_errors,
    countIf(v.generation_id != '' AND v.passed = 0)     AS checks_failed,
    countIf(g.status = 'ok' AND g.fallback = 1)         AS fallbacks,
    sum(g.output_tokens)                                AS output_tokens,
    round(sum(g.device_seconds), 1)                     AS device_s
FROM generation_log AS g FINAL
LEFT JOIN verdicts AS v ON v.generation_id = g.generation_id
WHERE g.logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY g.logical_date, g.content_kind, g.generator, g.model_id
ORDER BY g.logical_date, g.content_kind
