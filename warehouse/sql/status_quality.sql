-- Latest quality verdict per table and logical date.
SELECT
    logical_date,
    table_name,
    argMax(success, validated_at)              AS passed,
    argMax(failed_expectations, validated_at)  AS failed_expectations
FROM quality_results
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date, table_name
ORDER BY logical_date, table_name
