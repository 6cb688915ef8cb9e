-- A new version of a draft row with its check outcome (ReplacingMergeTree keeps the latest).
INSERT INTO drafts
SELECT
    draft_id, logical_date, story_id, story_type, content_kind, facts_digest, attempt, generation_id,
    generator, text, media_url, media_sha256, media_bytes, facts_json,
    {status:String} AS status,
    now64(3, 'UTC') AS created_at
FROM drafts FINAL
WHERE logical_date = {d:Date} AND draft_id IN {ids:Array(String)}
