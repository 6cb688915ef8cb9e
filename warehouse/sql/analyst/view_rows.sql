-- One analyst view's rows for a range of logical dates (every analyst view has logical_date).
SELECT *
FROM {view:Identifier}
WHERE logical_date BETWEEN {start:Date} AND {end:Date}
ORDER BY logical_date
