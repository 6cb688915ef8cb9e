-- Covers that passed their checks (any date), by draft: a new cover must not repeat one.
SELECT draft_id, media_sha256
FROM drafts FINAL
WHERE content_kind = 'cover' AND status = 'checked_ok' AND media_sha256 != ''
