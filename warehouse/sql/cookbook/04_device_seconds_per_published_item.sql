-- question: How many device-seconds did each published story cost, failed attempts included?
SELECT
    story_type,
    count() AS published_items,
    round(sum(device_seconds), 3) AS total_device_seconds,
    round(sum(device_seconds) / count(), 3) AS device_seconds_per_item
FROM analyst_published_items
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY story_type
ORDER BY device_seconds_per_item DESC
