-- Crash-safe content: every row says which try of its Airflow task wrote it, and a
-- generation's log row carries everything its draft needs.
--
-- A retry shares its dag_run_id with the try it replaces, so try_number (Airflow's task
-- instance try, from 1) is what tells two attempts of one run apart.
-- The content tasks write a generation's log row and then its draft row: two inserts,
-- with no transaction across tables. A task killed between them leaves a log row with no
-- draft; the next try rebuilds the draft from that row (nightdesk.content.records), so
-- the log keeps the stored media's address, hash and size as well as the output.
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS try_number UInt16 DEFAULT 1;
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS media_url String DEFAULT '';
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS media_sha256 String DEFAULT '';
ALTER TABLE generation_log ADD COLUMN IF NOT EXISTS media_bytes UInt64 DEFAULT 0;
ALTER TABLE drafts ADD COLUMN IF NOT EXISTS try_number UInt16 DEFAULT 1;
ALTER TABLE draft_checks ADD COLUMN IF NOT EXISTS try_number UInt16 DEFAULT 1;
