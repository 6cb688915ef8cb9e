-- question: How many device-seconds (and dollars) did each published story cost, failed attempts included?
-- cost_usd = device_seconds / 3600 * the device's usd_per_hour (warehouse/device_prices.yml).
SELECT
    story_type,
    count() AS published_items,
    round(sum(device_seconds), 3) AS total_device_seconds,
    round(sum(device_seconds) / count(), 3) AS device_seconds_per_item,
    round(sum(cost_usd) / count(), 6) AS cost_per_item_usd
FROM analyst_published_items
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY story_type
ORDER BY device_seconds_per_item DESC
