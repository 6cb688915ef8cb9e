-- The current text of every text draft of the date, so each draft can be compared with
-- its sibling kinds of the same story (a marketing line must not be its summary).
SELECT story_id, content_kind, text
FROM drafts FINAL
WHERE logical_date = {d:Date} AND content_kind != 'cover'
