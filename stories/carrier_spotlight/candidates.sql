-- One candidate per carrier that had at least 20 flights scheduled on the date.
-- Newsworthiness: how far its on-time rate is from the day's overall rate, weighted by
-- size (sqrt of flights), so a big carrier's good or bad day ranks first.
-- on_time_pct (the carrier's and all airlines'): scheduled flights that arrived less than
-- 15 minutes late; cancelled and diverted flights count as not on time.
WITH day AS (
    SELECT 100 * sum(arrived_on_time) / sum(flights) AS overall_on_time_pct
    FROM mart_carrier_daily
    WHERE flight_date = {logical_date:Date}
)
SELECT
    c.carrier                                   AS story_key,
    abs(c.on_time_pct - d.overall_on_time_pct) * sqrt(c.flights) AS score,
    c.flight_date                               AS flight_date,
    c.carrier_name                              AS carrier_name,
    c.flights                                   AS flights,
    c.departed                                  AS departed,
    c.cancelled                                 AS cancelled,
    c.diverted                                  AS diverted,
    c.on_time_pct                               AS on_time_pct,
    round(d.overall_on_time_pct, 1)             AS overall_on_time_pct,
    c.avg_dep_delay_min                         AS avg_dep_delay_min,
    c.busiest_route                             AS busiest_route,
    c.busiest_route_flights                     AS busiest_route_flights,
    c.busiest_route_ties                        AS busiest_route_ties,
    c.busiest_routes                            AS busiest_routes
FROM mart_carrier_daily AS c
CROSS JOIN day AS d
WHERE c.flight_date = {logical_date:Date} AND c.flights >= 20
