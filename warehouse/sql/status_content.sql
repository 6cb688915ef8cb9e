-- Generations per date, kind and model: what the content runs produced and what it cost.
SELECT
    logical_date,
    content_kind,
    generator,
    model_id,
    countIf(status = 'ok')              AS ok,
    countIf(status != 'ok')             AS failed,
    countIf(status = 'ok' AND fallback = 1) AS fallbacks,  -- written after the model's attempts failed
    sum(output_tokens)                  AS output_tokens,
    -- a batch's latency is shared by its rows: attribute each its share
    round(sum(latency_ms / batch_size) / 1000, 1) AS seconds
FROM generation_log FINAL
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date, content_kind, generator, model_id
ORDER BY logical_date, content_kind
