-- The day's recap across the three New York airports: always one candidate per date
-- with flights. Score is constant: the recap is published every day.
SELECT
    'all'                                                       AS story_key,
    1.0                                                         AS score,
    flight_date,
    sum(departures)                                             AS total_departures,
    sum(cancelled)                                              AS total_cancelled,
    round(100 * (sum(departures) - sum(cancelled) - sum(delayed_15)) / sum(departures), 1) AS overall_on_time_pct,
    argMax(airport, avg_dep_delay_min)                          AS most_delayed_airport,
    max(avg_dep_delay_min)                                      AS most_delayed_avg_min,
    argMin(airport, avg_dep_delay_min)                          AS least_delayed_airport,
    min(avg_dep_delay_min)                                      AS least_delayed_avg_min
FROM mart_airport_daily
WHERE flight_date = {logical_date:Date}
GROUP BY flight_date
