-- The latest load verdict of every source for one logical date: ok, empty (a due day
-- with no rows that its policy allows), skipped (not due) or failed.
SELECT
    source,
    argMax(status, finished_at)       AS status,
    argMax(rows_loaded, finished_at)  AS loaded,
    argMax(error, finished_at)        AS note
FROM load_log
WHERE logical_date = {d:Date}
GROUP BY source
