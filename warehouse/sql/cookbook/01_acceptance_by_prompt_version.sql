-- question: How often do editors accept each prompt version's drafts, unedited or after an edit?
-- Counts the drafts editors decided on (approved, approved after an edit, rejected).
SELECT
    content_kind,
    prompt_version,
    sum(decided) AS decided,
    sum(approved_unedited) AS approved_unedited,
    sum(approved_edited) AS approved_edited,
    sum(rejected) AS rejected,
    round((approved_unedited + approved_edited) / nullIf(decided, 0), 3) AS acceptance_rate
FROM analyst_daily_model_prompt
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY content_kind, prompt_version
HAVING decided > 0
ORDER BY content_kind, acceptance_rate DESC
