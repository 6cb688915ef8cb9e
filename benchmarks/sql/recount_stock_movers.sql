-- Recount of one stock_movers story from raw_stock_prices alone
-- (benchmarks/figure_recount.py): one row, one column per numeric fact of story.yml.
-- Parameters: day (the logical date), key (the ticker).
-- The previous close is the latest close before the day within 40 calendar days; the
-- volume average is of the 20 latest trading days before the day in that window, and
-- exists only when all 20 are there.
WITH prices AS (
    SELECT trade_date, close, volume
    FROM raw_stock_prices
    WHERE ticker = {key:String} AND trade_date BETWEEN {day:Date} - 40 AND {day:Date}
),
earlier AS (
    SELECT trade_date, close, volume FROM prices WHERE trade_date < {day:Date} ORDER BY trade_date DESC LIMIT 20
),
before AS (
    SELECT count() AS days, argMax(close, trade_date) AS last_close, avg(volume) AS avg_volume FROM earlier
)
SELECT
    t.close                                                                   AS close,
    if(b.days = 0, NULL, b.last_close)                                        AS prev_close,
    100 * (t.close - prev_close) / prev_close                                 AS change_pct,
    abs(change_pct)                                                           AS abs_change_pct,
    t.volume                                                                  AS volume,
    if(b.days < 20, NULL, 100 * (t.volume - b.avg_volume) / b.avg_volume)     AS volume_vs_avg_pct,
    b.days                                                                    AS volume_avg_days
FROM (SELECT close, volume FROM prices WHERE trade_date = {day:Date}) AS t
CROSS JOIN before AS b
