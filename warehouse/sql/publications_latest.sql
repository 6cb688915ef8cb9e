-- The last logged state of every story ever published to one site: what the next
-- publish compares with, so publishing the same stories again logs nothing.
SELECT
    story_id,
    argMax(action, (published_at, publication_id)) AS action,
    argMax(content_sha256, (published_at, publication_id)) AS content_sha256,
    argMax(paths, (published_at, publication_id)) AS paths,
    argMax(sha256s, (published_at, publication_id)) AS sha256s,
    argMax(story_type, (published_at, publication_id)) AS story_type,
    argMax(logical_date, (published_at, publication_id)) AS logical_date,
    argMax(draft_ids, (published_at, publication_id)) AS draft_ids
FROM publications
WHERE output_url = {url:String}
GROUP BY story_id
ORDER BY story_id
