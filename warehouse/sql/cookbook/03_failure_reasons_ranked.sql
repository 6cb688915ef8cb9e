-- question: Which check failures happen most often?
SELECT
    check_name,
    reason,
    count() AS failures,
    uniqExact(generation_id) AS generations,
    any(message) AS example
FROM analyst_check_failures
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY check_name, reason
ORDER BY failures DESC, check_name, reason
LIMIT 20
