-- Staging: cleaned, renamed, typed-for-analysis rows. Marts: one row per entity and day,
-- shaped for the stories that read them. Every table is partitioned by its day column so
-- the transform for a logical date replaces exactly that day.

CREATE TABLE IF NOT EXISTS stg_flights
(
    flight_date      Date,
    flight_id        UInt64,
    carrier          LowCardinality(String),
    flight_number    Int32,
    tailnum          Nullable(String),
    origin           LowCardinality(String),
    dest             LowCardinality(String),
    scheduled_dep    DateTime('UTC'),
    dep_delay_min    Nullable(Float64),
    arr_delay_min    Nullable(Float64),
    is_cancelled     UInt8,
    is_delayed_15    UInt8,
    distance_miles   Float64,
    air_time_min     Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY flight_date
ORDER BY (carrier, origin, flight_id);

CREATE TABLE IF NOT EXISTS stg_airlines
(
    snapshot_date  Date,
    carrier        LowCardinality(String),
    carrier_name   String
)
ENGINE = MergeTree
PARTITION BY snapshot_date
ORDER BY carrier;

CREATE TABLE IF NOT EXISTS stg_weather_hourly
(
    obs_date       Date,
    origin         LowCardinality(String),
    time_hour      DateTime('UTC'),
    temp_f         Nullable(Float64),
    wind_speed_mph Nullable(Float64),
    wind_gust_mph  Nullable(Float64),
    precip_in      Nullable(Float64),
    visib_miles    Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY obs_date
ORDER BY (origin, time_hour);

CREATE TABLE IF NOT EXISTS stg_stock_prices
(
    trade_date  Date,
    ticker      LowCardinality(String),
    open        Float64,
    high        Float64,
    low         Float64,
    close       Float64,
    volume      UInt64
)
ENGINE = MergeTree
PARTITION BY trade_date
ORDER BY ticker;

CREATE TABLE IF NOT EXISTS mart_carrier_daily
(
    flight_date        Date,
    carrier            LowCardinality(String),
    carrier_name       String,
    flights            UInt32,
    cancelled          UInt32,
    delayed_15         UInt32,
    on_time_pct        Float64,
    avg_dep_delay_min  Nullable(Float64),
    avg_arr_delay_min  Nullable(Float64),
    max_dep_delay_min  Nullable(Float64),
    busiest_route      String,
    total_miles        Float64
)
ENGINE = MergeTree
PARTITION BY flight_date
ORDER BY carrier;

CREATE TABLE IF NOT EXISTS mart_airport_daily
(
    flight_date        Date,
    airport            LowCardinality(String),
    departures         UInt32,
    cancelled          UInt32,
    delayed_15         UInt32,
    on_time_pct        Float64,
    avg_dep_delay_min  Nullable(Float64),
    avg_temp_f         Nullable(Float64),
    total_precip_in    Nullable(Float64),
    max_wind_mph       Nullable(Float64),
    min_visib_miles    Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY flight_date
ORDER BY airport;

CREATE TABLE IF NOT EXISTS mart_stock_daily
(
    trade_date          Date,
    ticker              LowCardinality(String),
    close               Float64,
    prev_close          Nullable(Float64),
    change_pct          Nullable(Float64),
    volume              UInt64,
    avg_volume_20d      Nullable(Float64),
    volume_vs_avg_pct   Nullable(Float64),
    avg_close_20d       Nullable(Float64),
    trading_days_in_window UInt16
)
ENGINE = MergeTree
PARTITION BY trade_date
ORDER BY ticker;

-- Results of every Great Expectations validation, kept whether it passed or failed.
CREATE TABLE IF NOT EXISTS quality_results
(
    validation_id   String,
    suite           LowCardinality(String),
    table_name      LowCardinality(String),
    logical_date    Date,
    success         UInt8,
    evaluated       UInt32,
    failed          UInt32,
    failed_expectations Array(String),
    result_json     String CODEC(ZSTD(3)),
    validated_at    DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(logical_date)
ORDER BY (table_name, logical_date, validated_at);
