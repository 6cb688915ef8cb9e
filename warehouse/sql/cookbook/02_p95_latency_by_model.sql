-- question: What is the 95th-percentile latency of each model, by content kind?
-- Over successful calls; latency_ms is the call's batch wall time (see the schema page).
SELECT
    model_id,
    content_kind,
    count() AS generations,
    round(quantileExact(0.95)(latency_ms), 1) AS latency_p95_ms
FROM analyst_generations
WHERE logical_date BETWEEN {start:Date} AND {end:Date} AND status = 'ok'
GROUP BY model_id, content_kind
ORDER BY model_id, content_kind
