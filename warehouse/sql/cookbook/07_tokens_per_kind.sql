-- question: How many tokens go in and come out per generation of each kind?
SELECT
    content_kind,
    count() AS generations,
    sum(input_tokens) AS total_input_tokens,
    sum(output_tokens) AS total_output_tokens,
    round(avg(input_tokens), 1) AS input_tokens_per_generation,
    round(avg(output_tokens), 1) AS output_tokens_per_generation
FROM analyst_generations
WHERE logical_date BETWEEN {start:Date} AND {end:Date} AND status = 'ok'
GROUP BY content_kind
ORDER BY content_kind
