-- Recount of one carrier_spotlight story from raw_flights alone
-- (benchmarks/figure_recount.py): one row, one column per numeric fact of story.yml.
-- Parameters: day (the logical date), key (the carrier code).
-- A scheduled flight departed when it has a departure time (else cancelled); a departed
-- flight without an arrival delay was diverted; it was on time when it departed, was
-- not diverted and arrived under 15 minutes late, as a share of scheduled flights.
WITH flights AS (
    SELECT carrier, concat(origin, '-', dest) AS route, dep_time, dep_delay, arr_delay,
           dep_time IS NOT NULL AND arr_delay IS NOT NULL AND arr_delay < 15 AS arrived_on_time
    FROM raw_flights
    WHERE makeDate(year, month, day) = {day:Date}
),
routes AS (
    SELECT route, count() AS n FROM flights WHERE carrier = {key:String} GROUP BY route
)
SELECT
    countIf(carrier = {key:String})                                                   AS flights,
    countIf(carrier = {key:String} AND dep_time IS NOT NULL)                          AS departed,
    countIf(carrier = {key:String} AND dep_time IS NULL)                              AS cancelled,
    countIf(carrier = {key:String} AND dep_time IS NOT NULL AND arr_delay IS NULL)    AS diverted,
    100 * countIf(carrier = {key:String} AND arrived_on_time) / nullIf(flights, 0)   AS on_time_pct,
    100 * countIf(arrived_on_time) / count()                                          AS overall_on_time_pct,
    sumIf(dep_delay, carrier = {key:String} AND dep_delay IS NOT NULL)
        / nullIf(countIf(carrier = {key:String} AND dep_delay IS NOT NULL), 0)        AS avg_dep_delay_min,
    (SELECT max(n) FROM routes)                                                       AS busiest_route_flights,
    (SELECT countIf(n = (SELECT max(n) FROM routes)) FROM routes)                     AS busiest_route_ties
FROM flights
