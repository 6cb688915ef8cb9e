-- model: mart_stock_daily
-- depends_on: stg_stock_prices
-- grain: one row per ticker and trade_date
-- prev_close is the close of the ticker's previous trading day in the warehouse, and
-- prev_trade_date says which day that was (the day before is not always the last
-- trading day, and a day not loaded yet is simply absent).
-- Trailing figures are the average of the previous 20 trading days (the usual "one
-- month" window), looked for within 40 calendar days. They are NULL unless all 20 days
-- are present: an average of fewer days is not the average the name promises, and never
-- includes the day itself. trading_days_in_window says how many of the 20 were found.
WITH history AS (
    SELECT
        trade_date,
        ticker,
        close,
        volume,
        lagInFrame(toNullable(close)) OVER upto_now                                  AS prev_close,
        lagInFrame(toNullable(trade_date)) OVER upto_now                             AS prev_trade_date,
        avg(volume) OVER trailing        AS avg_volume_20d,
        avg(close) OVER trailing         AS avg_close_20d,
        count() OVER trailing            AS trading_days_in_window
    FROM stg_stock_prices
    WHERE trade_date BETWEEN {logical_date:Date} - 40 AND {logical_date:Date}
    WINDOW
        upto_now AS (PARTITION BY ticker ORDER BY trade_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
        trailing AS (PARTITION BY ticker ORDER BY trade_date ROWS BETWEEN 20 PRECEDING AND 1 PRECEDING)
)
SELECT
    trade_date,
    ticker,
    close,
    prev_close,
    round(100 * (close - prev_close) / prev_close, 2)                        AS change_pct,
    volume,
    if(trading_days_in_window < 20, NULL, round(avg_volume_20d))              AS avg_volume_20d,
    if(trading_days_in_window < 20, NULL, round(100 * (volume - avg_volume_20d) / avg_volume_20d, 1)) AS volume_vs_avg_pct,
    if(trading_days_in_window < 20, NULL, round(avg_close_20d, 2))            AS avg_close_20d,
    toUInt16(trading_days_in_window)                                          AS trading_days_in_window,
    prev_trade_date
FROM history
WHERE trade_date = {logical_date:Date}
