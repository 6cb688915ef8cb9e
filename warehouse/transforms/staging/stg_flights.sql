-- model: stg_flights
-- depends_on: raw_flights
-- grain: one row per flight_id and flight_date
-- A flight with no departure time never left: it counts as cancelled. A flight that left
-- but has no arrival delay never reached its destination: it counts as diverted.
-- is_delayed_15 is about arrival (a cancelled or diverted flight is not "delayed", it is
-- cancelled or diverted); the marts count on-time flights from the delays themselves.
SELECT
    makeDate(year, month, day)                  AS flight_date,
    flight_id,
    carrier,
    flight                                      AS flight_number,
    tailnum,
    origin,
    dest,
    time_hour                                   AS scheduled_dep,
    dep_delay                                   AS dep_delay_min,
    arr_delay                                   AS arr_delay_min,
    toUInt8(dep_time IS NULL)                   AS is_cancelled,
    toUInt8(ifNull(arr_delay, 0) >= 15)         AS is_delayed_15,
    distance                                    AS distance_miles,
    air_time                                    AS air_time_min,
    toUInt8(dep_time IS NOT NULL AND arr_delay IS NULL) AS is_diverted
FROM raw_flights
WHERE _logical_date = {logical_date:Date}
