-- Report: check pass rate and editor acceptance per day, kind and prompt version.
SELECT
    logical_date,
    content_kind,
    prompt_version,
    sum(checked) AS checked,
    sum(checks_passed) AS checks_passed,
    round(checks_passed / nullIf(checked, 0), 3) AS pass_rate,
    sum(decided) AS decided,
    sum(approved_unedited) + sum(approved_edited) AS accepted,
    round(accepted / nullIf(decided, 0), 3) AS acceptance_rate
FROM analyst_daily_model_prompt
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date, content_kind, prompt_version
ORDER BY content_kind, prompt_version, logical_date
