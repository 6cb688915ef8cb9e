-- One candidate per New York airport: its average departure delay on the date against
-- its own trailing seven-day average (days present in the mart). Score: the excess
-- delay in minutes, so the airport with the most unusual day ranks first; airports with
-- no history yet compare against 0 and score by their delay alone.
WITH trailing AS (
    SELECT airport, round(avg(avg_dep_delay_min), 1) AS trailing_avg_delay_min, count() AS trailing_days
    FROM mart_airport_daily
    WHERE flight_date BETWEEN {logical_date:Date} - 7 AND {logical_date:Date} - 1
    GROUP BY airport
)
SELECT
    a.airport                                                   AS story_key,
    abs(a.avg_dep_delay_min - ifNull(t.trailing_avg_delay_min, 0)) AS score,
    a.flight_date                                               AS flight_date,
    a.airport                                                   AS airport,
    a.departures                                                AS departures,
    a.cancelled                                                 AS cancelled,
    a.on_time_pct                                               AS on_time_pct,
    a.avg_dep_delay_min                                         AS avg_dep_delay_min,
    ifNull(t.trailing_avg_delay_min, a.avg_dep_delay_min)       AS trailing_avg_delay_min,
    ifNull(t.trailing_days, 0)                                  AS trailing_days,
    a.total_precip_in                                           AS total_precip_in,
    a.max_wind_mph                                              AS max_wind_mph
FROM mart_airport_daily AS a
LEFT JOIN trailing AS t ON t.airport = a.airport
WHERE a.flight_date = {logical_date:Date} AND a.avg_dep_delay_min IS NOT NULL
