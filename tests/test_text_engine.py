"""The continuous-batching engine against transformers' own ``generate``, on a tiny random Llama.

Greedy decoding is deterministic, so the engine's tokens must equal ``model.generate``'s
for every request however the slots were shared and refilled; the other tests check
what only a queue of slots can do: results in finish order, locked and free rows side by
side, out-of-memory halving the slots, and a failing request failing alone.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch

from generators.fact_lock import FactLockError
from generators.random_models import build_tiny_causal_lm
from generators.slot_decoder import SlotDecoder
from generators.text import TextGenerator, TextRequest
from generators.text_engine import ContinuousEngine, Finished, Job, Sampler
from generators.text_model import LoadedCausalLM, load_causal_lm
from nightdesk.content.records import WorkItem
from nightdesk.content.writers import ModelTextWriter
from nightdesk.settings import get_settings
from nightdesk.stories.catalog import TEXT_KINDS, load_catalog
from test_fact_lock import sheet_for, stray_numbers  # pytest puts tests/ on sys.path

# Prompts of different lengths, each with its own token limit.
REQUESTS = tuple(
    TextRequest(user="Write the evening brief " + "about storms at JFK " * words, max_new_tokens=limit, seed=1)
    for words, limit in [(0, 5), (3, 14), (1, 9), (6, 20), (2, 3), (4, 11), (0, 16)]
)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> LoadedCausalLM:
    return load_causal_lm(str(build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))), device="cpu")


def _jobs(lm: LoadedCausalLM, requests) -> list[Job]:
    prompts = [lm.tokenizer.apply_chat_template([{"role": "user", "content": r.user}], add_generation_prompt=True,
                                                return_dict=True)["input_ids"] for r in requests]
    return [Job(tuple(p), r.max_new_tokens, r.stop, r.lock) for p, r in zip(prompts, requests, strict=True)]


def _engine(lm: LoadedCausalLM, **kwargs) -> ContinuousEngine:
    generator = TextGenerator(lm, temperature=0)
    return ContinuousEngine(lm.model, lm.tokenizer, end_ids=generator._end_ids, sampler=Sampler(0, 1.0),
                            fact_lock=generator._fact_lock, **kwargs)


def _tokens(outcomes: dict[int, Finished | Exception]) -> dict[int, list[int]]:
    assert not [o for o in outcomes.values() if isinstance(o, Exception)]
    return {index: outcome.tokens for index, outcome in outcomes.items()}


def _hf_greedy(lm: LoadedCausalLM, job: Job) -> list[int]:
    prompt = torch.tensor([job.prompt])
    with torch.inference_mode():
        out = lm.model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                max_new_tokens=job.max_new_tokens)
    return out[0, prompt.shape[1]:].tolist()


def test_greedy_tokens_equal_generate_with_fewer_slots_than_requests(tiny_lm):
    jobs = _jobs(tiny_lm, REQUESTS)
    groups = list(_engine(tiny_lm).run(jobs, slots=3))

    tokens = _tokens(dict(pair for group in groups for pair in group))
    assert tokens == {i: _hf_greedy(tiny_lm, job) for i, job in enumerate(jobs)}
    assert len(groups) > 2  # slots were refilled: results came out at several steps


def test_continuous_results_equal_the_generate_engine_with_stop_strings(tiny_lm):
    """Same texts and limit flags as the ``generate`` path, stop strings included.

    Token counts match where no stop string cut the text; where one did, the engine may
    count fewer: it stops at the token whose text completes the stop string, which
    ``generate``'s token-level matcher misses when it ends inside a token or a partial
    character (its extra tokens are cut from the text but counted).
    """
    free = TextGenerator(tiny_lm, temperature=0, engine="generate").generate(REQUESTS, batch_size=1)
    stops = [replace(r, stop=(f.text[len(f.text) // 2:][:2],)) if len(f.text) > 4 else r for r, f in zip(REQUESTS, free)]
    assert sum(bool(r.stop) for r in stops) >= 3

    expected = TextGenerator(tiny_lm, temperature=0, engine="generate").generate(stops, batch_size=1)
    got = TextGenerator(tiny_lm, temperature=0).generate(stops, batch_size=2)

    assert [(r.text, r.hit_token_limit, r.input_tokens) for r in got] == [
        (r.text, r.hit_token_limit, r.input_tokens) for r in expected]
    for request, mine, theirs in zip(stops, got, expected, strict=True):
        cut = request.stop and not theirs.hit_token_limit
        assert mine.output_tokens <= theirs.output_tokens if cut else mine.output_tokens == theirs.output_tokens
    assert any(not r.hit_token_limit and r.output_tokens < q.max_new_tokens for r, q in zip(got, stops))  # some stopped


def test_stream_yields_each_index_once_in_finish_order(tiny_lm):
    long, short = REQUESTS[3], replace(REQUESTS[0], max_new_tokens=2)
    requests = [long, short, REQUESTS[1], REQUESTS[2]]
    order = [index for index, _ in TextGenerator(tiny_lm, temperature=0).stream(requests, batch_size=2)]

    assert sorted(order) == [0, 1, 2, 3]
    # The two shortest prompts start together (the queue is sorted by prompt length); the
    # one with 2 tokens to write finishes first, before the long one that started with it.
    assert order[0] == 1
    assert order.index(1) < order.index(0)


def test_sampling_is_reproducible_and_independent_of_the_other_rows(tiny_lm):
    generator = TextGenerator(tiny_lm)
    texts = [r.text for r in generator.generate(REQUESTS, batch_size=3)]

    assert texts == [r.text for r in generator.generate(REQUESTS, batch_size=3)]
    assert texts[:2] == [r.text for r in generator.generate(REQUESTS[:2], batch_size=1)]
    assert texts != [r.text for r in generator.generate([replace(r, seed=2) for r in REQUESTS], batch_size=3)]


def test_locked_rows_share_slots_with_free_rows(tiny_lm):
    """Locked drafts hold only their sheet's figures; free ones, in the same slots, write stray digits."""
    sheet = sheet_for("stock_movers")
    catalog = load_catalog()
    items = [WorkItem(sheet, kind, attempt=1 + seed) for seed in range(3) for kind in TEXT_KINDS]
    locked = [r for _, r in ModelTextWriter(catalog, replace(get_settings(), text_decoding="figures")).requests(items)]
    free = [replace(r, lock=None) for r in locked]
    requests = [replace(r, max_new_tokens=min(r.max_new_tokens, 32)) for pair in zip(locked, free) for r in pair]

    results = TextGenerator(tiny_lm).generate(requests, batch_size=6)

    locked_texts, free_texts = [r.text for r in results[0::2]], [r.text for r in results[1::2]]
    assert {text: stray_numbers(text, sheet) for text in locked_texts if stray_numbers(text, sheet)} == {}
    assert sum(bool(text) for text in locked_texts) > len(locked_texts) // 2
    assert any(re.search(r"\d", "".join(stray_numbers(text, sheet))) for text in free_texts)


class _OutOfMemoryOnce(SlotDecoder):
    """A decoder whose third step with more than ``fits`` slots runs out of memory, once per test."""

    fits, failed = 2, False

    def step(self, tokens, columns, positions):
        self.steps = getattr(self, "steps", 0) + 1
        if self.slots > self.fits and self.steps == 3 and not _OutOfMemoryOnce.failed:
            _OutOfMemoryOnce.failed = True
            raise torch.OutOfMemoryError("injected: the step does not fit")
        return super().step(tokens, columns, positions)


def test_out_of_memory_halves_the_slots_and_loses_nothing(tiny_lm):
    jobs = _jobs(tiny_lm, REQUESTS)
    expected = _tokens(dict(p for g in _engine(tiny_lm).run(jobs, slots=4) for p in g))

    _OutOfMemoryOnce.failed = False
    outcomes = dict(p for g in _engine(tiny_lm, decoder=_OutOfMemoryOnce).run(jobs, slots=4) for p in g)

    assert _OutOfMemoryOnce.failed
    assert _tokens(outcomes) == expected
    # Requests done before the failing step kept their 4 slots; those in flight were redone at 2.
    assert {o.slots for o in outcomes.values()} == {4, 2}


class _Counted(SlotDecoder):
    """A :class:`SlotDecoder` that counts how many were built."""

    built = 0

    def __init__(self, *args) -> None:
        super().__init__(*args)
        type(self).built += 1


def test_a_second_run_of_one_shape_reuses_its_decoder_and_writes_the_same_tokens(tiny_lm):
    """The kept KV cache holds the last run's rows: nothing of them may reach the next run's."""
    jobs = _jobs(tiny_lm, REQUESTS)
    _Counted.built = 0
    engine = _engine(tiny_lm, decoder=_Counted)

    first = _tokens(dict(p for g in engine.run(jobs, slots=3) for p in g))
    backwards = _tokens(dict(p for g in engine.run(jobs[::-1], slots=3) for p in g))

    assert _Counted.built == 1
    expected = {i: _hf_greedy(tiny_lm, job) for i, job in enumerate(jobs)}
    assert first == expected
    assert {len(jobs) - 1 - i: tokens for i, tokens in backwards.items()} == expected
    list(engine.run(jobs, slots=2))
    assert _Counted.built == 2  # another shape, another decoder


class _SecondStepNeverFits(SlotDecoder):
    """Every second decode step of a run runs out of memory, even in one slot."""

    def step(self, tokens, columns, positions):
        self.steps = getattr(self, "steps", 0) + 1
        if self.steps % 2 == 0:
            raise torch.OutOfMemoryError("injected: the step does not fit")
        return super().step(tokens, columns, positions)


def test_out_of_memory_on_the_step_after_a_row_ended_loses_no_request(tiny_lm):
    """One slot: the step that fails only fed a row its last read token had ended, so no request is to blame."""
    jobs = _jobs(tiny_lm, REQUESTS[:2])
    greedy = [_hf_greedy(tiny_lm, job) for job in jobs]
    ends = frozenset({greedy[0][1]})  # the first request ends on its second token
    engine = _engine(tiny_lm, decoder=_SecondStepNeverFits)
    engine.end_ids = ends

    outcomes = dict(p for g in engine.run(jobs, slots=1) for p in g)

    assert sorted(outcomes) == [0, 1]
    assert outcomes[0].tokens == greedy[0][:2]
    assert isinstance(outcomes[1], (Finished, torch.OutOfMemoryError))  # the second may need the failing step itself


class _LongPromptsNeverFit(SlotDecoder):
    """Prefilling a prompt longer than ``limit`` tokens runs out of memory, at any slot count."""

    limit = 40

    def prefill(self, rows, prompts):
        if max(len(p) for p in prompts) > self.limit:
            raise torch.OutOfMemoryError("injected: this prompt does not fit")
        return super().prefill(rows, prompts)


def test_a_request_that_does_not_fit_one_slot_fails_alone(tiny_lm):
    jobs = _jobs(tiny_lm, REQUESTS)
    too_long = {i for i, job in enumerate(jobs) if len(job.prompt) > _LongPromptsNeverFit.limit}
    assert too_long and len(too_long) < len(jobs)

    outcomes = dict(p for g in _engine(tiny_lm, decoder=_LongPromptsNeverFit).run(jobs, slots=4) for p in g)

    assert sorted(outcomes) == list(range(len(jobs)))
    assert {i for i, o in outcomes.items() if isinstance(o, torch.OutOfMemoryError)} == too_long
    assert all(outcomes[i].tokens == _hf_greedy(tiny_lm, jobs[i]) for i in outcomes if i not in too_long)


def test_a_failing_request_does_not_fail_the_others(tiny_lm):
    broken = replace(REQUESTS[1], lock="start: (")  # not a grammar: the lock refuses it
    requests = [REQUESTS[0], broken, *REQUESTS[2:]]
    generator = TextGenerator(tiny_lm, temperature=0)

    outcomes = dict(generator.stream(requests, batch_size=2))

    assert isinstance(outcomes[1], FactLockError)
    alone = generator.generate([r for i, r in enumerate(requests) if i != 1], batch_size=2)
    assert [outcomes[i].text for i in range(len(requests)) if i != 1] == [r.text for r in alone]
    with pytest.raises(FactLockError, match="invalid"):
        generator.generate(requests, batch_size=2)


def test_writer_streams_each_item_once_and_writes_in_item_order(tiny_lm):
    settings = replace(get_settings(), text_model=tiny_lm.model_id, text_batch_size=2, text_decoding="free")
    sheet = sheet_for("stock_movers")
    items = [WorkItem(sheet, "summary"), WorkItem(sheet, "headline"), WorkItem(sheet, "headline", attempt=2)]
    writer = ModelTextWriter(load_catalog(), settings)

    streamed = [g for group in writer.stream(items) for g in group]
    written = writer.write(items)

    assert sorted(g.item.key for g in streamed) == sorted(item.key for item in items)
    assert [g.item for g in written] == items
    assert all(g.status == "ok" and g.batch_size == 2 and g.output_tokens > 0 for g in written)


def test_a_repeated_decode_step_changes_nothing(tiny_lm):
    """The CUDA-graph decoder warms up by running its first step more than once: that must be harmless."""
    (job,) = _jobs(tiny_lm, REQUESTS[:1])
    width = len(job.prompt)

    def decode(repeats: int) -> list[torch.Tensor]:
        decoder = SlotDecoder(tiny_lm.model, 2, width + 4)
        with torch.inference_mode():
            token = decoder.prefill([1], [job.prompt]).argmax(-1)
            logits = []
            for step in range(3):
                tokens, columns, positions = (torch.tensor([0, int(token)]), torch.tensor([width + 3, width + step]),
                                              torch.tensor([0, width + step]))
                for _ in range(repeats if step == 0 else 1):
                    out = decoder.step(tokens, columns, positions)
                logits.append(out[1].clone())
                token = out[1].argmax()
        return logits

    assert all(torch.equal(a, b) for a, b in zip(decode(1), decode(3), strict=True))


def test_the_writer_decodes_with_the_configured_engine(tiny_lm, monkeypatch):
    """NIGHTDESK_TEXT_ENGINE picks the engine the writer loads; any other value is refused by name."""
    sheet = sheet_for("stock_movers")
    for engine in ("generate", "continuous"):
        monkeypatch.setenv("NIGHTDESK_TEXT_ENGINE", engine)
        settings = replace(get_settings(), text_model=tiny_lm.model_id, text_batch_size=2, text_decoding="free")
        writer = ModelTextWriter(load_catalog(), settings)
        [generation] = writer.write([WorkItem(sheet, "headline")])
        assert writer._model().engine == engine and generation.status == "ok"
    monkeypatch.setenv("NIGHTDESK_TEXT_ENGINE", "vllm")
    with pytest.raises(ValueError, match="NIGHTDESK_TEXT_ENGINE='vllm' is not one of continuous, generate"):
        get_settings()
