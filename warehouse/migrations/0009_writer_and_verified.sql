-- Who wrote each draft, and what its checks verified.
--
-- writer: model, template, chart or diffusion. fallback: 1 when a template or chart card
-- wrote the draft because the model's attempts failed their checks (not when the
-- templates were the configured writer from the start). failed_attempts: the attempts of
-- the same draft before this one, all of which failed. nightdesk.content.records fills
-- them for every new row; the DEFAULT expressions give rows written before this migration
-- the same values from what they already record (the generator names the writer, and a
-- template or chart card past attempt 1 was a fallback). Analysts' views and the review
-- queue read these columns instead of guessing from the generator.
ALTER TABLE generation_log
    ADD COLUMN IF NOT EXISTS writer LowCardinality(String)
        DEFAULT multiIf(generator = 'transformers', 'model', generator = 'diffusers', 'diffusion', generator)
        AFTER generator;
ALTER TABLE generation_log
    ADD COLUMN IF NOT EXISTS fallback UInt8 DEFAULT generator IN ('template', 'chart') AND attempt > 1 AFTER writer;
ALTER TABLE generation_log
    ADD COLUMN IF NOT EXISTS failed_attempts UInt8 DEFAULT attempt - 1 AFTER fallback;

ALTER TABLE drafts
    ADD COLUMN IF NOT EXISTS writer LowCardinality(String)
        DEFAULT multiIf(generator = 'transformers', 'model', generator = 'diffusers', 'diffusion', generator)
        AFTER generator;
ALTER TABLE drafts
    ADD COLUMN IF NOT EXISTS fallback UInt8 DEFAULT generator IN ('template', 'chart') AND attempt > 1 AFTER writer;
ALTER TABLE drafts
    ADD COLUMN IF NOT EXISTS failed_attempts UInt8 DEFAULT attempt - 1 AFTER fallback;

-- What a check verified ("4 of 4 figures bound", "2 names", "direction agrees"): the
-- check result's ``verified`` list, shown to editors beside its findings. Empty for
-- results written before the checks listed it.
ALTER TABLE draft_checks
    ADD COLUMN IF NOT EXISTS verified Array(String) AFTER findings_json;
