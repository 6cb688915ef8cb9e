-- Raw monthly home sales and the per-city mart the housing stories read.
CREATE TABLE IF NOT EXISTS raw_txhousing
(
    city           LowCardinality(String),
    year           UInt16,
    month          UInt8,
    sales          Nullable(Float64),
    volume         Nullable(Float64),
    median         Nullable(Float64),
    listings       Nullable(Float64),
    inventory      Nullable(Float64),
    _batch_id      String,
    _logical_date  Date,
    _source        LowCardinality(String),
    _loaded_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY _logical_date
ORDER BY (city, year, month);

CREATE TABLE IF NOT EXISTS mart_housing_city_monthly
(
    month_start     Date,
    city            LowCardinality(String),
    sales           UInt32,
    median_price    Nullable(Float64),
    listings        Nullable(UInt32),
    months_inventory Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY month_start
ORDER BY city;
