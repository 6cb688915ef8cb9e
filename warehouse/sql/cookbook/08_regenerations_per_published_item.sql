-- question: How many regenerations did a published story need?
SELECT
    logical_date,
    count() AS published_items,
    sum(regenerations) AS total_regenerations,
    round(sum(regenerations) / count(), 3) AS regenerations_per_item
FROM analyst_published_items
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date
ORDER BY logical_date
