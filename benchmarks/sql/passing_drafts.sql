-- The passing text drafts of some logical dates, with the fact sheets they were checked
-- against (benchmarks/figure_recount.py). FINAL: each draft's current version only.
SELECT logical_date, draft_id, story_id, story_type, content_kind, text, facts_json
FROM drafts FINAL
WHERE logical_date IN {dates:Array(Date)}
  AND status = 'checked_ok'
  AND content_kind IN {kinds:Array(String)}
ORDER BY logical_date, story_type, story_id, content_kind
