-- question: What share of each kind's drafts did the templates write after the model's attempts failed?
SELECT
    content_kind,
    count() AS drafts,
    countIf(fallback = 1) AS fallbacks,
    round(fallbacks / drafts, 3) AS fallback_share
FROM analyst_drafts
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY content_kind
ORDER BY content_kind
