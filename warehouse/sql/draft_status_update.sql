-- A new version of a draft row with its check outcome (ReplacingMergeTree keeps the latest),
-- written by try {try_number} of the checking task. Every other column is copied as it is.
INSERT INTO drafts
SELECT * REPLACE (
    {status:String} AS status,
    {try_number:UInt16} AS try_number,
    now64(3, 'UTC') AS created_at
)
FROM drafts FINAL
WHERE logical_date = {d:Date} AND draft_id IN {ids:Array(String)}
