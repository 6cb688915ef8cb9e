-- question: How much does each editor edit, and how much do they change?
SELECT
    actor AS editor,
    countIf(action = 'edit') AS edits,
    uniqExactIf(draft_id, action = 'edit') AS drafts_edited,
    sumIf(edit_distance, action = 'edit') AS characters_changed,
    countIf(action = 'approve') AS approvals,
    countIf(action = 'reject') AS rejections
FROM analyst_review_events
WHERE logical_date BETWEEN {start:Date} AND {end:Date} AND action IN ('edit', 'approve', 'reject')
GROUP BY editor
ORDER BY edits DESC, editor
