-- Report: device-seconds per published item, per day (all sites together).
SELECT
    logical_date,
    sum(published_items) AS published_items,
    round(sum(total_device_seconds), 3) AS device_seconds,
    round(device_seconds / published_items, 3) AS device_seconds_per_item
FROM analyst_daily_publishing
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date
ORDER BY logical_date
