-- The fact sheet of one stored story (``nightdesk check``): the latest selection of it.
-- A story id names its date (``stock_movers/2013-03-01/AAPL``), so at most one date matches;
-- a re-selection of that date replaced the partition, so there is one row.
SELECT facts_json
FROM stories
WHERE story_id = {story_id:String}
ORDER BY selected_at DESC
LIMIT 1
