-- The day's recap across the three New York airports: always one candidate per date
-- with flights. Score is constant: the recap is published every day.
-- Counts say what they count: scheduled flights (cancelled ones included), flights that
-- departed, and of those the share that left less than 15 minutes late (a diverted flight
-- is not on time). The most and least delayed airports are ranked by average departure
-- delay; a tie goes to the alphabetically first airport.
SELECT
    'all'                                                       AS story_key,
    1.0                                                         AS score,
    flight_date,
    sum(departures)                                             AS total_scheduled,
    sum(departed)                                               AS total_departed,
    sum(cancelled)                                              AS total_cancelled,
    sum(diverted)                                               AS total_diverted,
    if(total_departed = 0, NULL, round(100 * sum(left_on_time) / total_departed, 1)) AS overall_dep_on_time_pct,
    arraySort(x -> (-x.2, x.1), groupArray((airport, avg_dep_delay_min)))[1].1 AS most_delayed_airport,
    max(avg_dep_delay_min)                                      AS most_delayed_avg_min,
    arraySort(x -> (x.2, x.1), groupArray((airport, avg_dep_delay_min)))[1].1  AS least_delayed_airport,
    min(avg_dep_delay_min)                                      AS least_delayed_avg_min
FROM mart_airport_daily
WHERE flight_date = {logical_date:Date} AND avg_dep_delay_min IS NOT NULL
GROUP BY flight_date
