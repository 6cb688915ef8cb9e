-- One candidate per carrier that flew at least 20 flights on the date.
-- Newsworthiness: how far its on-time rate is from the day's overall rate, weighted by
-- size (sqrt of flights), so a big carrier's good or bad day ranks first.
WITH day AS (
    SELECT 100 * (sum(flights) - sum(cancelled) - sum(delayed_15)) / sum(flights) AS overall_on_time_pct
    FROM mart_carrier_daily
    WHERE flight_date = {logical_date:Date}
)
SELECT
    c.carrier                                   AS story_key,
    abs(c.on_time_pct - d.overall_on_time_pct) * sqrt(c.flights) AS score,
    c.flight_date                               AS flight_date,
    c.carrier_name                              AS carrier_name,
    c.flights                                   AS flights,
    c.cancelled                                 AS cancelled,
    c.on_time_pct                               AS on_time_pct,
    round(d.overall_on_time_pct, 1)             AS overall_on_time_pct,
    c.avg_dep_delay_min                         AS avg_dep_delay_min,
    c.busiest_route                             AS busiest_route
FROM mart_carrier_daily AS c
CROSS JOIN day AS d
WHERE c.flight_date = {logical_date:Date} AND c.flights >= 20
