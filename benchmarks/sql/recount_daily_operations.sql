-- Recount of one daily_operations story from raw_flights alone
-- (benchmarks/figure_recount.py): one row, one column per numeric fact of story.yml.
-- Parameters: day (the logical date); the story key is always 'all' (the three airports).
-- A scheduled flight departed when it has a departure time (else cancelled); a departed
-- flight without an arrival delay was diverted; it left on time when departed, not
-- diverted and under 15 minutes late, as a share of departed flights. The most and least
-- delayed averages are over the airports with a departure delay to average.
WITH flights AS (
    SELECT origin, dep_time, dep_delay, arr_delay
    FROM raw_flights
    WHERE makeDate(year, month, day) = {day:Date}
),
airports AS (
    SELECT origin, sumIf(dep_delay, dep_delay IS NOT NULL) / countIf(dep_delay IS NOT NULL) AS avg_delay
    FROM flights
    GROUP BY origin
    HAVING countIf(dep_delay IS NOT NULL) > 0
)
SELECT
    count()                                                                  AS scheduled,
    countIf(dep_time IS NOT NULL)                                            AS departures,
    countIf(dep_time IS NULL)                                                AS cancelled,
    countIf(dep_time IS NOT NULL AND arr_delay IS NULL)                      AS diverted,
    100 * countIf(dep_time IS NOT NULL AND arr_delay IS NOT NULL AND dep_delay < 15)
        / nullIf(departures, 0)                                              AS on_time_pct,
    (SELECT max(avg_delay) FROM airports)                                    AS most_delayed_avg_min,
    (SELECT min(avg_delay) FROM airports)                                    AS least_delayed_avg_min
FROM flights
