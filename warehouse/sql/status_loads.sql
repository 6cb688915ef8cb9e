-- Latest load of each source per logical date: where every extracted row went.
SELECT
    logical_date,
    source,
    argMax(status, finished_at)            AS status,
    argMax(rows_extracted, finished_at)    AS extracted,
    argMax(rows_loaded, finished_at)       AS loaded,
    argMax(rows_quarantined, finished_at)  AS quarantined,
    argMax(error, finished_at)             AS last_error
FROM load_log
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
GROUP BY logical_date, source
ORDER BY logical_date, source
