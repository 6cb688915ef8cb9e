-- One candidate per listed company that traded on the date and the day before.
-- Newsworthiness: the size of the day's move, boosted when volume ran far above its
-- trailing average (a move on heavy trading is more of a story).
SELECT
    ticker                                                          AS story_key,
    abs(change_pct) * (1 + greatest(ifNull(volume_vs_avg_pct, 0), 0) / 100) AS score,
    trade_date,
    ticker,
    close,
    prev_close,
    change_pct,
    abs(change_pct)                                                 AS abs_change_pct,
    if(change_pct >= 0, 'rose', 'fell')                             AS direction,
    volume,
    volume_vs_avg_pct
FROM mart_stock_daily
WHERE trade_date = {logical_date:Date} AND change_pct IS NOT NULL
