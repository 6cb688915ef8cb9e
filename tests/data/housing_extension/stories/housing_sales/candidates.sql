-- One candidate per city with sales in the month; the busiest market is the story.
SELECT
    city            AS story_key,
    toFloat64(sales) AS score,
    month_start,
    city,
    sales,
    median_price,
    listings
FROM mart_housing_city_monthly
WHERE month_start = {logical_date:Date} AND median_price IS NOT NULL AND listings IS NOT NULL
