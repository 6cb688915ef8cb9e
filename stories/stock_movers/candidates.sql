-- One candidate per listed company that traded on the date; it is a story only when the
-- warehouse also holds an earlier close within 40 days (prev_trade_date says which day; it
-- is not always the day before).
-- Newsworthiness: the size of the day's move, boosted when volume ran far above the
-- average of the previous 20 trading days. That average exists only when all 20 days are
-- in the warehouse (see mart_stock_daily); without it the move is still the story, but
-- volume_vs_avg_pct is NULL and no volume comparison may be claimed.
SELECT
    ticker                                                          AS story_key,
    abs(change_pct) * (1 + greatest(ifNull(volume_vs_avg_pct, 0), 0) / 100) AS score,
    if(change_pct IS NULL, concat(ticker, ': no earlier close in the warehouse within 40 days'), '') AS no_story_reason,
    trade_date,
    ticker,
    close,
    prev_close,
    prev_trade_date,
    change_pct,
    abs(change_pct)                                                 AS abs_change_pct,
    if(change_pct >= 0, 'rose', 'fell')                             AS direction,
    volume,
    volume_vs_avg_pct,
    trading_days_in_window                                          AS volume_avg_days
FROM mart_stock_daily
WHERE trade_date = {logical_date:Date}
