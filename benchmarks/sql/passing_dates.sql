-- Every logical date with a passing text draft (benchmarks/figure_recount.py's default).
SELECT DISTINCT logical_date
FROM drafts FINAL
WHERE status = 'checked_ok' AND content_kind IN {kinds:Array(String)}
ORDER BY logical_date
