-- A new version of a draft row with its check outcome (ReplacingMergeTree keeps the latest).
-- Every other column is copied as it is, whatever columns later migrations add.
INSERT INTO drafts
SELECT * REPLACE ({status:String} AS status, now64(3, 'UTC') AS created_at)
FROM drafts FINAL
WHERE logical_date = {d:Date} AND draft_id IN {ids:Array(String)}
