-- model: mart_carrier_daily
-- depends_on: stg_flights, stg_airlines
-- grain: one row per carrier and flight_date
-- on_time_pct counts flights that operated and arrived less than 15 minutes late.
WITH routes AS (
    SELECT carrier, concat(origin, '-', dest) AS route, count() AS n
    FROM stg_flights
    WHERE flight_date = {logical_date:Date}
    GROUP BY carrier, route
)
SELECT
    f.flight_date                                              AS flight_date,
    f.carrier                                                  AS carrier,
    ifNull(a.carrier_name, f.carrier)                          AS carrier_name,
    toUInt32(count())                                          AS flights,
    toUInt32(sum(f.is_cancelled))                              AS cancelled,
    toUInt32(sum(f.is_delayed_15))                             AS delayed_15,
    round(100 * countIf(f.is_cancelled = 0 AND f.is_delayed_15 = 0) / count(), 1) AS on_time_pct,
    round(avg(f.dep_delay_min), 1)                             AS avg_dep_delay_min,
    round(avg(f.arr_delay_min), 1)                             AS avg_arr_delay_min,
    max(f.dep_delay_min)                                       AS max_dep_delay_min,
    any(r.route)                                               AS busiest_route,
    sum(f.distance_miles)                                      AS total_miles
FROM stg_flights AS f
LEFT JOIN (SELECT carrier, carrier_name FROM stg_airlines WHERE snapshot_date = {logical_date:Date}) AS a
    ON a.carrier = f.carrier
LEFT JOIN (SELECT carrier, argMax(route, (n, route)) AS route FROM routes GROUP BY carrier) AS r
    ON r.carrier = f.carrier
WHERE f.flight_date = {logical_date:Date}
GROUP BY f.flight_date, f.carrier, a.carrier_name
