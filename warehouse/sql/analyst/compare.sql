-- Variant A vs B (two prompt versions, or two models) over a range of logical dates:
-- acceptance, check pass rate, latency, tokens, device time and cost, with the counts behind
-- each rate. {by:String} is 'prompt' (variants are prompt_version values) or 'model'
-- (model_id values); a variant with no generations in the range has no row.
SELECT
    t.variant AS variant,
    t.generations AS generations,
    t.decided AS decided,
    t.approved_unedited AS approved_unedited,
    t.approved_edited AS approved_edited,
    t.rejected AS rejected,
    round((t.approved_unedited + t.approved_edited) / nullIf(t.decided, 0), 3) AS acceptance_rate,
    t.checked AS checked,
    t.checks_passed AS checks_passed,
    round(t.checks_passed / nullIf(t.checked, 0), 3) AS pass_rate,
    l.latency_p50_ms AS latency_p50_ms,
    l.latency_p95_ms AS latency_p95_ms,
    t.input_tokens AS input_tokens,
    t.output_tokens AS output_tokens,
    round(t.output_tokens / nullIf(t.generations, 0), 1) AS output_tokens_per_generation,
    round(t.device_seconds, 3) AS device_seconds,
    round(t.device_seconds / nullIf(t.generations, 0), 4) AS device_seconds_per_generation,
    round(t.cost_usd, 6) AS cost_usd,
    round(t.cost_usd / nullIf(t.generations, 0), 8) AS cost_per_generation_usd
FROM
(
    SELECT
        if({by:String} = 'model', model_id, prompt_version) AS variant,
        sum(generations) AS generations,
        sum(decided) AS decided,
        sum(approved_unedited) AS approved_unedited,
        sum(approved_edited) AS approved_edited,
        sum(rejected) AS rejected,
        sum(checked) AS checked,
        sum(checks_passed) AS checks_passed,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(device_seconds) AS device_seconds,
        sum(cost_usd) AS cost_usd
    FROM analyst_daily_model_prompt
    WHERE logical_date BETWEEN {start:Date} AND {end:Date}
    GROUP BY variant
    HAVING variant IN ({a:String}, {b:String})
) AS t
LEFT JOIN
(
    SELECT
        if({by:String} = 'model', model_id, prompt_version) AS variant,
        round(quantileExact(0.50)(latency_ms), 1) AS latency_p50_ms,
        round(quantileExact(0.95)(latency_ms), 1) AS latency_p95_ms
    FROM analyst_generations
    WHERE logical_date BETWEEN {start:Date} AND {end:Date} AND status = 'ok'
    GROUP BY variant
) AS l ON l.variant = t.variant
ORDER BY t.variant = {b:String}
