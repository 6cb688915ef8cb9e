-- The values of one variant column (prompt_version or model_id) with generations in a range.
SELECT DISTINCT toString({column:Identifier}) AS variant
FROM analyst_generations
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
ORDER BY variant
