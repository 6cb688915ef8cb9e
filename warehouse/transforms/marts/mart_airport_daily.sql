-- model: mart_airport_daily
-- depends_on: stg_flights, stg_weather_hourly
-- grain: one row per departure airport and flight_date
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
    round(100 * countIf(f.is_cancelled = 0 AND f.is_delayed_15 = 0) / count(), 1) AS on_time_pct,
    round(avg(f.dep_delay_min), 1)                 AS avg_dep_delay_min,
    any(w.avg_temp_f)                              AS avg_temp_f,
    any(w.total_precip_in)                         AS total_precip_in,
    any(w.max_wind_mph)                            AS max_wind_mph,
    any(w.min_visib_miles)                         AS min_visib_miles
FROM stg_flights AS f
LEFT JOIN weather AS w ON w.origin = f.origin
WHERE f.flight_date = {logical_date:Date}
GROUP BY f.flight_date, f.origin
