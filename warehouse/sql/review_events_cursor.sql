-- The highest audit event id already exported from one review store (0 when none):
-- the export continues after it.
SELECT max(event_id)
FROM review_events
WHERE review_store = {store:String}
