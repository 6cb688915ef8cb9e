-- model: mart_airport_daily
-- depends_on: stg_flights, stg_weather_hourly
-- grain: one row per departure airport and flight_date
-- What each count is (a flight is scheduled; it departed or was cancelled; a departed
-- flight arrived or was diverted):
--   departures       scheduled flights, cancelled ones included (the column keeps its old name)
--   departed         flights that left (departures - cancelled)
--   left_on_time     departed, not diverted, and left less than 15 minutes late
--   dep_on_time_pct  left_on_time as a share of departed flights ("left on time")
--   on_time_pct      flights that arrived less than 15 minutes late, as a share of scheduled
--                    flights (cancelled and diverted flights count as not on time)
WITH weather AS (
    SELECT
        origin,
        round(avg(temp_f), 1)       AS avg_temp_f,
        round(sum(precip_in), 2)    AS total_precip_in,
        round(max(wind_speed_mph), 1) AS max_wind_mph,
        min(visib_miles)            AS min_visib_miles
    FROM stg_weather_hourly
    WHERE obs_date = {logical_date:Date}
    GROUP BY origin
)
SELECT
    f.flight_date                                  AS flight_date,
    f.origin                                       AS airport,
    toUInt32(count())                              AS departures,
    toUInt32(sum(f.is_cancelled))                  AS cancelled,
    toUInt32(sum(f.is_delayed_15))                 AS delayed_15,
    round(100 * countIf(f.is_cancelled = 0 AND f.is_diverted = 0 AND f.arr_delay_min < 15) / count(), 1) AS on_time_pct,
    round(avg(f.dep_delay_min), 1)                 AS avg_dep_delay_min,
    any(w.avg_temp_f)                              AS avg_temp_f,
    any(w.total_precip_in)                         AS total_precip_in,
    any(w.max_wind_mph)                            AS max_wind_mph,
    any(w.min_visib_miles)                         AS min_visib_miles,
    toUInt32(countIf(f.is_cancelled = 0))          AS departed,
    toUInt32(sum(f.is_diverted))                   AS diverted,
    toUInt32(countIf(f.is_cancelled = 0 AND f.is_diverted = 0 AND f.dep_delay_min < 15)) AS left_on_time,
    if(departed = 0, NULL, round(100 * left_on_time / departed, 1)) AS dep_on_time_pct
FROM stg_flights AS f
LEFT JOIN weather AS w ON w.origin = f.origin
WHERE f.flight_date = {logical_date:Date}
GROUP BY f.flight_date, f.origin
