-- Report: latency distribution (p50, p95, p99 of successful calls) by model and kind.
SELECT
    model_id,
    content_kind,
    count() AS generations,
    round(quantileExact(0.50)(latency_ms), 1) AS p50_ms,
    round(quantileExact(0.95)(latency_ms), 1) AS p95_ms,
    round(quantileExact(0.99)(latency_ms), 1) AS p99_ms
FROM analyst_generations
WHERE logical_date BETWEEN {start:Date} AND {end:Date} AND status = 'ok'
GROUP BY model_id, content_kind
ORDER BY model_id, content_kind
