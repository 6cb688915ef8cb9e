-- model: mart_housing_city_monthly
-- depends_on: raw_txhousing
-- grain: one row per city and month (month_start = the month's first day), cities with sales only
SELECT
    makeDate(year, month, 1)            AS month_start,
    city,
    toUInt32(sales)                     AS sales,
    median                              AS median_price,
    CAST(listings AS Nullable(UInt32)) AS listings,
    inventory                           AS months_inventory
FROM raw_txhousing
WHERE _logical_date = {logical_date:Date} AND sales IS NOT NULL
