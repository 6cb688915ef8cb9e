-- Text drafts of the dates as they reach the review queue: kind, who wrote them, whether
-- a template wrote them after failed model attempts, and whether they pass.
SELECT content_kind, writer, fallback, status, count() AS n
FROM drafts FINAL
WHERE logical_date IN {ds:Array(Date)} AND content_kind != 'cover'
GROUP BY content_kind, writer, fallback, status
ORDER BY content_kind, writer, fallback, status
