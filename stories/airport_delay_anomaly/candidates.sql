-- One candidate per New York airport: its average departure delay on the date against its
-- own previous days (params.window_days; the day itself never counts as its own history).
-- Score: the deviation in standard deviations of that history (a z-score), so the airport
-- whose day was furthest outside its normal spread ranks first. Unusually short delays are
-- news too; delay_z's sign and delay_vs_usual say which way the day went.
-- A candidate is no story (no_story_reason says why) when the airport has fewer than
-- params.min_history_days earlier days with flights in the window, when that history has
-- no spread, or when the day is within params.min_abs_z standard deviations of its mean.
WITH history AS (
    SELECT
        airport,
        count()                        AS days,
        avg(avg_dep_delay_min)         AS mean_delay,
        stddevSamp(avg_dep_delay_min)  AS sd_delay
    FROM mart_airport_daily
    WHERE flight_date BETWEEN {logical_date:Date} - {window_days:UInt16} AND {logical_date:Date} - 1
      AND avg_dep_delay_min IS NOT NULL
    GROUP BY airport
),
scored AS (
    SELECT
        a.*,
        ifNull(h.days, 0)                                                    AS history_days,
        h.mean_delay                                                         AS mean_delay,
        h.sd_delay                                                           AS sd_delay,
        if(history_days >= 2 AND sd_delay > 0, (a.avg_dep_delay_min - mean_delay) / sd_delay, NULL) AS z
    FROM mart_airport_daily AS a
    LEFT JOIN history AS h ON h.airport = a.airport
    WHERE a.flight_date = {logical_date:Date} AND a.avg_dep_delay_min IS NOT NULL
    SETTINGS join_use_nulls = 1
)
SELECT
    airport                                                     AS story_key,
    ifNull(abs(z), 0)                                           AS score,
    multiIf(
        history_days < {min_history_days:UInt16},
        concat(airport, ': ', toString(history_days), if(history_days = 1, ' earlier day', ' earlier days'), ' with flights in the previous ',
               toString({window_days:UInt16}), ' days, ', toString({min_history_days:UInt16}), ' needed'),
        z IS NULL,
        concat(airport, ': no spread in its previous ', toString(history_days), ' days'),
        abs(z) < {min_abs_z:Float64},
        concat(airport, ': ', toString(round(z, 2)), ' standard deviations from the mean of its previous ',
               toString(history_days), ' days, within ', toString({min_abs_z:Float64})),
        '')                                                     AS no_story_reason,
    flight_date,
    airport,
    departures                                                  AS scheduled,
    departed,
    cancelled,
    diverted,
    left_on_time,
    dep_on_time_pct,
    avg_dep_delay_min,
    round(mean_delay, 1)                                        AS trailing_avg_delay_min,
    round(sd_delay, 1)                                          AS trailing_sd_delay_min,
    history_days                                                AS trailing_days,
    round(z, 1)                                                 AS delay_z,
    if(z > 0, 'longer', 'shorter')                              AS delay_vs_usual,
    total_precip_in,
    max_wind_mph
FROM scored
