-- model: stg_airlines
-- depends_on: raw_airlines
-- grain: one row per carrier per snapshot_date
SELECT
    _logical_date   AS snapshot_date,
    carrier,
    trim(name)      AS carrier_name
FROM raw_airlines
WHERE _logical_date = {logical_date:Date}
