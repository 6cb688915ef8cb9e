-- model: stg_weather_hourly
-- depends_on: raw_weather
-- grain: one row per origin and hour
SELECT
    makeDate(year, month, day)  AS obs_date,
    origin,
    time_hour,
    temp                        AS temp_f,
    wind_speed                  AS wind_speed_mph,
    wind_gust                   AS wind_gust_mph,
    precip                      AS precip_in,
    visib                       AS visib_miles
FROM raw_weather
WHERE _logical_date = {logical_date:Date}
