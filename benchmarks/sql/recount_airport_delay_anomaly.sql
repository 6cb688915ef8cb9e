-- Recount of one airport_delay_anomaly story from raw_flights and raw_weather alone
-- (benchmarks/figure_recount.py): one row, one column per numeric fact of story.yml.
-- Parameters: day (the logical date), key (the airport), window_days (the story's param).
-- Definitions follow the facts' labels: a flight is scheduled; it departed when it has a
-- departure time (else cancelled); a departed flight without an arrival delay was
-- diverted; it left on time when departed, not diverted and under 15 minutes late.
-- The previous days are those of the window with a departure delay to average; their
-- average and spread are of the daily averages as published (one decimal), and the
-- z-score compares the day's published average with them.
WITH flights AS (
    SELECT makeDate(year, month, day) AS flown, dep_time, dep_delay, arr_delay
    FROM raw_flights
    WHERE origin = {key:String}
      AND makeDate(year, month, day) BETWEEN {day:Date} - {window_days:UInt16} AND {day:Date}
),
daily AS (
    SELECT
        flown,
        count()                                                            AS scheduled,
        countIf(dep_time IS NOT NULL)                                      AS departures,
        countIf(dep_time IS NULL)                                          AS cancelled,
        countIf(dep_time IS NOT NULL AND arr_delay IS NULL)                AS diverted,
        countIf(dep_time IS NOT NULL AND arr_delay IS NOT NULL AND dep_delay < 15) AS left_on_time,
        sumIf(dep_delay, dep_delay IS NOT NULL) / nullIf(countIf(dep_delay IS NOT NULL), 0) AS avg_delay
    FROM flights
    GROUP BY flown
),
history AS (
    SELECT count() AS days, avg(round(avg_delay, 1)) AS mean_delay, stddevSamp(round(avg_delay, 1)) AS sd_delay
    FROM daily
    WHERE flown < {day:Date} AND avg_delay IS NOT NULL
),
weather AS (
    SELECT sum(precip) AS precip, max(wind_speed) AS wind
    FROM raw_weather
    WHERE origin = {key:String} AND makeDate(year, month, day) = {day:Date}
)
SELECT
    d.scheduled                                                        AS scheduled,
    d.departures                                                       AS departures,
    d.cancelled                                                        AS cancelled,
    d.diverted                                                         AS diverted,
    100 * d.left_on_time / nullIf(d.departures, 0)                     AS on_time_pct,
    d.avg_delay                                                        AS avg_dep_delay_min,
    if(h.days = 0, NULL, h.mean_delay)                                 AS trailing_avg_delay_min,
    if(h.days < 2, NULL, h.sd_delay)                                   AS trailing_sd_delay_min,
    h.days                                                             AS trailing_days,
    if(h.days < 2 OR h.sd_delay = 0, NULL, (round(d.avg_delay, 1) - h.mean_delay) / h.sd_delay) AS delay_z,
    w.precip                                                           AS total_precip_in,
    w.wind                                                             AS max_wind_mph
FROM (SELECT * FROM daily WHERE flown = {day:Date}) AS d
CROSS JOIN history AS h
CROSS JOIN weather AS w
