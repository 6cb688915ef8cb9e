-- Report: device-seconds and cost per published item, per day (all sites together).
-- Generations on a device without a price in device_prices add no cost.
SELECT
    logical_date,
    sum(published_items) AS published_items,
    round(sum(total_device_seconds), 3) AS device_seconds,
    round(device_seconds / published_items, 3) AS device_seconds_per_item,
    round(sum(total_cost_usd), 6) AS cost_usd,
    round(cost_usd / published_items, 6) AS cost_per_item_usd
FROM analyst_daily_publishing
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date
ORDER BY logical_date
