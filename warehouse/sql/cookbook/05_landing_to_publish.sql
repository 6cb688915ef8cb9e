-- question: How long after the day's data landed was each story first published?
SELECT
    logical_date,
    count() AS published_items,
    min(landing_to_publish_s) AS fastest_s,
    quantileExact(0.5)(landing_to_publish_s) AS median_s,
    max(landing_to_publish_s) AS slowest_s
FROM analyst_published_items
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date
ORDER BY logical_date
