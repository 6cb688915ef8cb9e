-- model: mart_carrier_daily
-- depends_on: stg_flights, stg_airlines
-- grain: one row per carrier and flight_date
-- flights counts scheduled flights (cancelled ones included); departed those that left.
-- on_time_pct: flights that arrived less than 15 minutes late, as a share of scheduled
-- flights (cancelled and diverted flights count as not on time).
-- busiest_route: the route with the most scheduled flights; a tie goes to the
-- alphabetically first route, busiest_route_ties says how many routes shared the top and
-- busiest_routes names them all (alphabetical, comma-separated).
WITH routes AS (
    SELECT carrier, concat(origin, '-', dest) AS route, count() AS n
    FROM stg_flights
    WHERE flight_date = {logical_date:Date}
    GROUP BY carrier, route
),
busiest AS (
    SELECT
        carrier,
        argMin(route, (-toInt64(n), route))  AS top_route,
        max(n)                               AS route_flights,
        countIf(n = top)                     AS ties,
        arrayStringConcat(arraySort(groupArrayIf(route, n = top)), ', ') AS tied_routes
    FROM (SELECT carrier, route, n, max(n) OVER (PARTITION BY carrier) AS top FROM routes)
    GROUP BY carrier
)
SELECT
    f.flight_date                                              AS flight_date,
    f.carrier                                                  AS carrier,
    ifNull(a.carrier_name, f.carrier)                          AS carrier_name,
    toUInt32(count())                                          AS flights,
    toUInt32(sum(f.is_cancelled))                              AS cancelled,
    toUInt32(sum(f.is_delayed_15))                             AS delayed_15,
    round(100 * arrived_on_time / count(), 1)                  AS on_time_pct,
    round(avg(f.dep_delay_min), 1)                             AS avg_dep_delay_min,
    round(avg(f.arr_delay_min), 1)                             AS avg_arr_delay_min,
    max(f.dep_delay_min)                                       AS max_dep_delay_min,
    any(r.top_route)                                           AS busiest_route,
    sum(f.distance_miles)                                      AS total_miles,
    toUInt32(countIf(f.is_cancelled = 0))                      AS departed,
    toUInt32(sum(f.is_diverted))                               AS diverted,
    toUInt32(countIf(f.is_cancelled = 0 AND f.is_diverted = 0 AND f.arr_delay_min < 15)) AS arrived_on_time,
    toUInt32(any(r.route_flights))                             AS busiest_route_flights,
    toUInt16(any(r.ties))                                      AS busiest_route_ties,
    any(r.tied_routes)                                         AS busiest_routes
FROM stg_flights AS f
LEFT JOIN (SELECT carrier, carrier_name FROM stg_airlines WHERE snapshot_date = {logical_date:Date}) AS a
    ON a.carrier = f.carrier
LEFT JOIN busiest AS r ON r.carrier = f.carrier
WHERE f.flight_date = {logical_date:Date}
GROUP BY f.flight_date, f.carrier, a.carrier_name
