-- Analyst views: the recurring questions about generations, checks, editors and
-- publishing, answered without the analyst remembering FINAL or how a rerun is stored.
--
-- Every view reads its ReplacingMergeTree tables with FINAL, so a row written twice (a
-- rerun, a task killed between insert and acknowledgement) counts once; tables whose
-- date partition is replaced on rerun (stories) or that log each change once
-- (publications) need no FINAL. They are plain views, not materialized ones: an
-- insert-triggered materialized view would count a rerun's rows again. Column meanings,
-- grains and join keys are in docs/warehouse-schema.md (checked against this schema by
-- tests/test_analyst_views.py).
--
-- Measures from migration 0010: device_seconds (a request's share of its batch's wall
-- time), the price of a device-hour (device_prices, ASOF-joined on the day the device
-- ran), check_ms, and the generation an editor decided on (review_events.generation_id).
-- cost_usd = device_seconds / 3600 * usd_per_hour; NULL when the device has no price.

-- One row per generation (model call, template or chart card), failed calls included.
CREATE OR REPLACE VIEW analyst_generations AS
SELECT
    g.generation_id AS generation_id,
    g.call_id AS call_id,
    g.batch_id AS batch_id,
    g.logical_date AS logical_date,
    g.dag_run_id AS dag_run_id,
    g.try_number AS try_number,
    g.story_id AS story_id,
    g.story_type AS story_type,
    g.content_kind AS content_kind,
    g.attempt AS attempt,
    g.writer AS writer,
    g.fallback AS fallback,
    g.generator AS generator,
    g.model_id AS model_id,
    g.model_revision AS model_revision,
    g.prompt_template AS prompt_template,
    g.prompt_name AS prompt_name,
    g.prompt_version AS prompt_version,
    g.input_tokens AS input_tokens,
    g.output_tokens AS output_tokens,
    g.latency_ms AS latency_ms,
    g.time_to_first_token_ms AS time_to_first_token_ms,
    g.enqueued_at AS enqueued_at,
    g.first_token_at AS first_token_at,
    g.finished_at AS finished_at,
    g.load_time_ms AS load_time_ms,
    g.device_seconds AS device_seconds,
    g.device AS device,
    if(p.device = '', NULL, p.usd_per_hour) AS usd_per_hour,
    g.device_seconds / 3600 * usd_per_hour AS cost_usd,
    g.batch_size AS batch_size,
    g.status AS status,
    g.error AS error,
    g.created_at AS created_at
FROM generation_log AS g FINAL
ASOF LEFT JOIN (SELECT device, effective_from, usd_per_hour FROM device_prices FINAL) AS p
    ON p.device = g.device AND toDate(g.created_at) >= p.effective_from;

-- One row per check result of a generation, with the model and prompt that wrote it.
CREATE OR REPLACE VIEW analyst_checks AS
SELECT
    c.logical_date AS logical_date,
    c.draft_id AS draft_id,
    c.generation_id AS generation_id,
    c.attempt AS attempt,
    c.content_kind AS content_kind,
    c.check_name AS check_name,
    c.passed AS passed,
    c.findings_json AS findings_json,
    c.verified AS verified,
    c.checked_at AS checked_at,
    c.check_ms AS check_ms,
    g.model_id AS model_id,
    g.prompt_version AS prompt_version,
    g.writer AS writer
FROM draft_checks AS c FINAL
LEFT JOIN (SELECT generation_id, model_id, prompt_version, writer FROM generation_log FINAL) AS g
    ON g.generation_id = c.generation_id;

-- One row per failing finding of a failed check. ``reason`` is the finding's message up
-- to its first ': ', without the character span, with quoted terms and figures blanked
-- (… and N), so the same rule broken by different drafts ranks as one reason;
-- ``message`` keeps the original.
CREATE OR REPLACE VIEW analyst_check_failures AS
SELECT
    logical_date,
    draft_id,
    generation_id,
    attempt,
    content_kind,
    check_name,
    model_id,
    prompt_version,
    writer,
    JSONExtractString(finding, 'message') AS message,
    if(message = '', '(no finding given)',
       replaceRegexpAll(replaceRegexpAll(replaceRegexpAll(splitByString(': ', message)[1], ' at [0-9]+-[0-9]+', ''),
                                         '\'[^\']*\'|"[^"]*"|“[^”]*”', '…'), '[0-9][0-9.,]*', 'N')) AS reason
FROM
(
    SELECT *, arrayJoin(if(empty(findings), ['{}'], findings)) AS finding
    FROM
    (
        SELECT *, arrayFilter(f -> JSONExtractString(f, 'severity') != 'warn', JSONExtractArrayRaw(findings_json)) AS findings
        FROM analyst_checks
        WHERE passed = 0
    )
);

-- One row per review event, with the details analysts ask for taken out of the JSON.
-- edit_distance: characters (not bytes) changed by an edit (Levenshtein distance between the lines
-- the edit's diff removed and the lines it added); 0 for other actions.
CREATE OR REPLACE VIEW analyst_review_events AS
SELECT
    review_store,
    event_id,
    at,
    action,
    actor,
    draft_id,
    story_id,
    story_type,
    content_kind,
    logical_date,
    from_state,
    to_state,
    generation_id,
    JSONExtractString(details_json, 'reason') AS reason,
    JSONExtractBool(details_json, 'edited') AS edited,
    if(action = 'edit', editDistanceUTF8(
        arrayStringConcat(arrayMap(l -> substring(l, 2), arrayFilter(
            l -> startsWith(l, '-') AND NOT startsWith(l, '---'), splitByChar('\n', JSONExtractString(details_json, 'diff')))), '\n'),
        arrayStringConcat(arrayMap(l -> substring(l, 2), arrayFilter(
            l -> startsWith(l, '+') AND NOT startsWith(l, '+++'), splitByChar('\n', JSONExtractString(details_json, 'diff')))), '\n')),
       0) AS edit_distance,
    details_json
FROM review_events FINAL;

-- One row per current draft (the drafts table's latest version of each story and kind),
-- with the generation that wrote it and what editors did with it.
-- outcome: approved (unedited), approved_edited, rejected, or undecided (never decided,
-- or reopened since); taken from the last approve, reject or reopen event.
CREATE OR REPLACE VIEW analyst_drafts AS
SELECT
    d.draft_id AS draft_id,
    d.logical_date AS logical_date,
    d.story_id AS story_id,
    d.story_type AS story_type,
    d.content_kind AS content_kind,
    d.attempt AS attempt,
    d.attempt - 1 AS regenerations,
    d.generation_id AS generation_id,
    d.writer AS writer,
    d.fallback AS fallback,
    d.failed_attempts AS failed_attempts,
    d.status AS check_status,
    g.model_id AS model_id,
    g.prompt_version AS prompt_version,
    r.enqueued_at AS enqueued_at,
    r.decided_at AS decided_at,
    r.decided_by AS decided_by,
    r.decided_generation_id AS decided_generation_id,
    multiIf(r.decision = 'reject', 'rejected', r.decision = 'approve' AND r.edited, 'approved_edited',
            r.decision = 'approve', 'approved', 'undecided') AS outcome,
    r.reject_reason AS reject_reason,
    r.edits AS edits,
    r.edit_distance AS edit_distance,
    r.review_state AS review_state,
    r.published AS published,
    d.text AS text
FROM drafts AS d FINAL
LEFT JOIN (SELECT generation_id, model_id, prompt_version FROM generation_log FINAL) AS g
    ON g.generation_id = d.generation_id
LEFT JOIN
(
    SELECT
        draft_id,
        minIf(at, action = 'enqueue') AS enqueued_at,
        argMaxIf(action, (at, event_id), action IN ('approve', 'reject', 'reopen')) AS decision,
        argMaxIf(at, (at, event_id), action IN ('approve', 'reject')) AS decided_at,
        argMaxIf(actor, (at, event_id), action IN ('approve', 'reject')) AS decided_by,
        argMaxIf(generation_id, (at, event_id), action IN ('approve', 'reject')) AS decided_generation_id,
        argMaxIf(edited, (at, event_id), action = 'approve') AS edited,
        argMaxIf(reason, (at, event_id), action = 'reject') AS reject_reason,
        countIf(action = 'edit') AS edits,
        sumIf(edit_distance, action = 'edit') AS edit_distance,
        argMaxIf(to_state, (at, event_id), action NOT IN ('conflict', 'comment')) AS review_state,
        countIf(action = 'publish') > 0 AS published
    FROM analyst_review_events
    GROUP BY draft_id
) AS r ON r.draft_id = d.draft_id;

-- Per day, model, prompt version and kind: what was generated, what passed the checks,
-- what editors accepted. Check and editor figures count each generation once: a
-- generation passed when all its checks passed; acceptance counts the drafts whose
-- current text this generation wrote.
CREATE OR REPLACE VIEW analyst_daily_model_prompt AS
SELECT
    g.logical_date AS logical_date,
    g.model_id AS model_id,
    g.prompt_version AS prompt_version,
    g.content_kind AS content_kind,
    countIf(g.status = 'ok') AS generations,
    countIf(g.status != 'ok') AS failed_calls,
    countIf(g.status = 'ok' AND g.fallback = 1) AS fallbacks,
    sum(g.input_tokens) AS input_tokens,
    sum(g.output_tokens) AS output_tokens,
    quantileExactIf(0.50)(g.latency_ms, g.status = 'ok') AS latency_p50_ms,
    quantileExactIf(0.95)(g.latency_ms, g.status = 'ok') AS latency_p95_ms,
    quantileExactIf(0.99)(g.latency_ms, g.status = 'ok') AS latency_p99_ms,
    sum(g.device_seconds) AS device_seconds,
    sum(g.cost_usd) AS cost_usd,
    sum(c.check_ms) / 1000 AS check_seconds,
    countIf(c.checks > 0) AS checked,
    countIf(c.checks > 0 AND c.failed = 0) AS checks_passed,
    checks_passed / nullIf(checked, 0) AS pass_rate,
    countIf(d.draft_id != '') AS drafts,
    countIf(d.outcome != 'undecided' AND d.draft_id != '') AS decided,
    countIf(d.outcome = 'approved') AS approved_unedited,
    countIf(d.outcome = 'approved_edited') AS approved_edited,
    countIf(d.outcome = 'rejected') AS rejected,
    (approved_unedited + approved_edited) / nullIf(decided, 0) AS acceptance_rate,
    sumIf(d.edit_distance, d.outcome = 'approved_edited') AS edit_distance,
    sumIf(d.edit_distance, d.outcome = 'approved_edited') / nullIf(approved_edited, 0) AS edit_distance_per_edited
FROM analyst_generations AS g
LEFT JOIN
(
    SELECT generation_id, count() AS checks, countIf(passed = 0) AS failed, any(check_ms) AS check_ms
    FROM draft_checks FINAL
    GROUP BY generation_id
) AS c ON c.generation_id = g.generation_id
LEFT JOIN (SELECT generation_id, draft_id, outcome, edit_distance FROM analyst_drafts) AS d
    ON d.generation_id = g.generation_id
GROUP BY logical_date, model_id, prompt_version, content_kind;

-- Per day, model, prompt version, kind and check: how many generations the check saw and passed.
CREATE OR REPLACE VIEW analyst_daily_checks AS
SELECT
    logical_date,
    model_id,
    prompt_version,
    content_kind,
    check_name,
    count() AS checked,
    countIf(passed = 1) AS passes,
    passes / checked AS pass_rate
FROM analyst_checks
GROUP BY logical_date, model_id, prompt_version, content_kind, check_name;

-- One row per story first published to a site (output_url). landed_at: when the date's
-- data had landed (the latest, over sources, of each source's first successful load
-- for the date; a later rerun of the load does not move it). regenerations: attempts
-- beyond the first over the story's current drafts; generations, device_seconds and
-- cost_usd: every generation made for the story, failed attempts included.
CREATE OR REPLACE VIEW analyst_published_items AS
SELECT
    p.output_url AS output_url,
    p.story_id AS story_id,
    p.story_type AS story_type,
    p.logical_date AS logical_date,
    p.first_published_at AS first_published_at,
    l.landed_at AS landed_at,
    dateDiff('second', l.landed_at, p.first_published_at) AS landing_to_publish_s,
    d.regenerations AS regenerations,
    g.generations AS generations,
    g.device_seconds AS device_seconds,
    g.cost_usd AS cost_usd
FROM
(
    SELECT output_url, story_id, story_type, logical_date, min(published_at) AS first_published_at
    FROM publications
    WHERE action = 'published'
    GROUP BY output_url, story_id, story_type, logical_date
) AS p
LEFT JOIN
(
    SELECT logical_date, max(first_ok) AS landed_at
    FROM (SELECT source, logical_date, minIf(finished_at, status = 'ok') AS first_ok
          FROM load_log GROUP BY source, logical_date HAVING countIf(status = 'ok') > 0)
    GROUP BY logical_date
) AS l ON l.logical_date = p.logical_date
LEFT JOIN (SELECT story_id, sum(regenerations) AS regenerations FROM analyst_drafts GROUP BY story_id) AS d
    ON d.story_id = p.story_id
LEFT JOIN (SELECT story_id, count() AS generations, sum(device_seconds) AS device_seconds, sum(cost_usd) AS cost_usd
           FROM analyst_generations GROUP BY story_id) AS g
    ON g.story_id = p.story_id;

-- Per day (the stories' logical date) and site: published items and what each cost.
CREATE OR REPLACE VIEW analyst_daily_publishing AS
SELECT
    logical_date,
    output_url,
    count() AS published_items,
    sum(regenerations) AS total_regenerations,
    total_regenerations / published_items AS regenerations_per_item,
    sum(device_seconds) AS total_device_seconds,
    total_device_seconds / published_items AS device_seconds_per_item,
    sum(cost_usd) AS total_cost_usd,
    total_cost_usd / published_items AS cost_per_item_usd,
    quantileExact(0.5)(landing_to_publish_s) AS landing_to_publish_p50_s,
    max(landing_to_publish_s) AS landing_to_publish_max_s
FROM analyst_published_items
GROUP BY logical_date, output_url;

-- Per day and story type: stories found, drafted, approved, published, rejected, and why.
-- A story is approved when at least one of its drafts is, rejected when at least one
-- is; published when it appears in publications on any site.
CREATE OR REPLACE VIEW analyst_story_type_funnel AS
SELECT
    s.logical_date AS logical_date,
    s.story_type AS story_type,
    uniqExact(s.story_id) AS stories_found,
    countIf(d.drafts > 0) AS stories_drafted,
    countIf(d.approved > 0) AS stories_approved,
    countIf(p.story_id != '') AS stories_published,
    countIf(d.rejected > 0) AS stories_rejected,
    sum(d.rejected) AS drafts_rejected,
    arraySort(groupUniqArrayArray(d.reasons)) AS reject_reasons
FROM stories AS s
LEFT JOIN
(
    SELECT story_id, count() AS drafts, countIf(outcome IN ('approved', 'approved_edited')) AS approved,
           countIf(outcome = 'rejected') AS rejected, groupUniqArrayIf(reject_reason, outcome = 'rejected') AS reasons
    FROM analyst_drafts
    GROUP BY story_id
) AS d ON d.story_id = s.story_id
LEFT JOIN (SELECT DISTINCT story_id FROM publications WHERE action = 'published') AS p ON p.story_id = s.story_id
GROUP BY logical_date, story_type;
