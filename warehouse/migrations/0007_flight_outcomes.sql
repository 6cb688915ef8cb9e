-- What a flight figure counts, stated by its column (issue 8, "figures that say what they
-- count"). A flight is scheduled; it either departed or was cancelled; a departed flight
-- either arrived (it has an arrival delay) or was diverted. "Left on time" is judged by
-- the departure delay, "arrived on time" by the arrival delay, and a diverted flight is
-- on time by neither. Columns are added at the end of each table, because the transforms
-- insert by position.

ALTER TABLE stg_flights ADD COLUMN IF NOT EXISTS is_diverted UInt8;

ALTER TABLE mart_airport_daily ADD COLUMN IF NOT EXISTS departed UInt32;
ALTER TABLE mart_airport_daily ADD COLUMN IF NOT EXISTS diverted UInt32;
ALTER TABLE mart_airport_daily ADD COLUMN IF NOT EXISTS left_on_time UInt32;
ALTER TABLE mart_airport_daily ADD COLUMN IF NOT EXISTS dep_on_time_pct Nullable(Float64);

ALTER TABLE mart_carrier_daily ADD COLUMN IF NOT EXISTS departed UInt32;
ALTER TABLE mart_carrier_daily ADD COLUMN IF NOT EXISTS diverted UInt32;
ALTER TABLE mart_carrier_daily ADD COLUMN IF NOT EXISTS arrived_on_time UInt32;
ALTER TABLE mart_carrier_daily ADD COLUMN IF NOT EXISTS busiest_route_flights UInt32;
ALTER TABLE mart_carrier_daily ADD COLUMN IF NOT EXISTS busiest_route_ties UInt16;
ALTER TABLE mart_carrier_daily ADD COLUMN IF NOT EXISTS busiest_routes String;

ALTER TABLE mart_stock_daily ADD COLUMN IF NOT EXISTS prev_trade_date Nullable(Date);
