-- question: Which story types do editors reject most, and why?
SELECT
    story_type,
    sum(stories_found) AS stories_found,
    sum(stories_rejected) AS stories_rejected,
    sum(drafts_rejected) AS drafts_rejected,
    arraySort(groupUniqArrayArray(reject_reasons)) AS reasons
FROM analyst_story_type_funnel
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY story_type
ORDER BY drafts_rejected DESC, story_type
