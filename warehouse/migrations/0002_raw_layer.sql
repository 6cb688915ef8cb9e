-- Raw layer: source rows as extracted (typed by the source's declared schema), plus
-- load metadata. One partition per logical date: a rerun replaces that date atomically
-- (ALTER TABLE ... REPLACE PARTITION from a scratch copy), so nothing is duplicated and
-- a failed load leaves the previous data in place.
-- ORDER BY puts the columns the staging models filter and join on first.

CREATE TABLE IF NOT EXISTS raw_flights
(
    flight_id       UInt64,
    year            UInt16,
    month           UInt8,
    day             UInt8,
    dep_time        Nullable(Int32),
    sched_dep_time  Int32,
    dep_delay       Nullable(Float64),
    arr_time        Nullable(Int32),
    sched_arr_time  Int32,
    arr_delay       Nullable(Float64),
    carrier         LowCardinality(String),
    flight          Int32,
    tailnum         Nullable(String),
    origin          LowCardinality(String),
    dest            LowCardinality(String),
    air_time        Nullable(Float64),
    distance        Float64,
    hour            UInt8,
    minute          UInt8,
    time_hour       DateTime('UTC'),
    _batch_id       String,
    _logical_date   Date,
    _source         LowCardinality(String),
    _loaded_at      DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY _logical_date
ORDER BY (carrier, origin, flight_id);

CREATE TABLE IF NOT EXISTS raw_airlines
(
    carrier        LowCardinality(String),
    name           String,
    _batch_id      String,
    _logical_date  Date,
    _source        LowCardinality(String),
    _loaded_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY _logical_date
ORDER BY carrier;

CREATE TABLE IF NOT EXISTS raw_weather
(
    origin         LowCardinality(String),
    year           UInt16,
    month          UInt8,
    day            UInt8,
    hour           UInt8,
    temp           Nullable(Float64),
    dewp           Nullable(Float64),
    humid          Nullable(Float64),
    wind_dir       Nullable(Float64),
    wind_speed     Nullable(Float64),
    wind_gust      Nullable(Float64),
    precip         Nullable(Float64),
    pressure       Nullable(Float64),
    visib          Nullable(Float64),
    time_hour      DateTime('UTC'),
    _batch_id      String,
    _logical_date  Date,
    _source        LowCardinality(String),
    _loaded_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY _logical_date
ORDER BY (origin, time_hour);

CREATE TABLE IF NOT EXISTS raw_stock_prices
(
    ticker         LowCardinality(String),
    trade_date     Date,
    open           Float64,
    high           Float64,
    low            Float64,
    close          Float64,
    volume         UInt64,
    adj_close      Nullable(Float64),
    _batch_id      String,
    _logical_date  Date,
    _source        LowCardinality(String),
    _loaded_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY _logical_date
ORDER BY (ticker, trade_date);
