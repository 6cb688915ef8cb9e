-- Texts of the same kind that passed their checks in the previous two weeks: what a new
-- draft must not nearly repeat.
SELECT text
FROM drafts FINAL
WHERE logical_date BETWEEN {d:Date} - 14 AND {d:Date} - 1
  AND content_kind = {kind:String} AND status = 'checked_ok'
