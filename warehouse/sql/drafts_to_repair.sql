-- The date's drafts whose current version failed its checks and was not written by a
-- fallback ({final} names those writers): each is owed its next attempt, by the model
-- again or by the template / chart fallback. Read from the warehouse each round, so a
-- task killed after marking drafts failed and before rewriting them leaves the rewrite
-- to its next try.
SELECT draft_id, content_kind, attempt, facts_json
FROM drafts FINAL
WHERE logical_date = {d:Date} AND status = 'checked_failed' AND generator NOT IN {final:Array(String)}
ORDER BY draft_id
