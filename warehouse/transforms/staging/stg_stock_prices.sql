-- model: stg_stock_prices
-- depends_on: raw_stock_prices
-- grain: one row per ticker and trade_date
SELECT trade_date, ticker, open, high, low, close, volume
FROM raw_stock_prices
WHERE _logical_date = {logical_date:Date}
