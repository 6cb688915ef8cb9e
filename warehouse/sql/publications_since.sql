-- What publishing changed on one site since a moment (for `nightdesk publish`'s summary).
SELECT action, story_id, published_at
FROM publications
WHERE output_url = {url:String} AND published_at >= {since:DateTime64(3, 'UTC')}
ORDER BY published_at, story_id
