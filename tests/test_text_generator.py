"""Text generation through real transformers models: a tiny random Llama and the bundled SmolLM2.

The tiny model checks the mechanics (batching, seeding, token accounting, stop strings)
in milliseconds; SmolLM2 checks that the default model loads offline from its GGUF file,
writes its converted cache once and produces text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from generators.fact_lock import lock_grammar
from generators.random_models import build_tiny_causal_lm
from generators.text import TextGenerator, TextRequest, whole_sentences
from generators.text_model import LoadedCausalLM, ModelLoadError, load_causal_lm
from nightdesk.settings import get_settings
from test_fact_lock import locked_drafts, sheet_for, stray_numbers  # pytest puts tests/ on sys.path

PROMPTS = (
    TextRequest(user="Write a headline about storms delaying flights out of JFK.", max_new_tokens=8, seed=1),
    TextRequest(user="Summarise the week.", system="You are a news editor. Be brief.", max_new_tokens=8, seed=1),
    TextRequest(user="Ad copy", max_new_tokens=8, seed=1),
)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> LoadedCausalLM:
    return load_causal_lm(str(build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))), device="cpu")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def smollm2(model_cache) -> LoadedCausalLM:
    return load_causal_lm("smollm2", cache_dir=model_cache)


def test_batch_gives_one_counted_result_per_request(tiny_lm):
    generator = TextGenerator(tiny_lm)
    batched = generator.generate(PROMPTS, batch_size=3)
    alone = generator.generate(PROMPTS, batch_size=1)

    assert [result.batch_size for result in batched] == [3, 3, 3]
    for result in batched:
        assert 0 < result.output_tokens <= 8
        assert 0 < result.time_to_first_token_s <= result.latency_s
        assert (result.model_id, result.revision, result.device) == (tiny_lm.model_id, tiny_lm.revision, "cpu")
    # Prompts of different lengths are padded in a batch; the counts leave padding out.
    assert len({result.input_tokens for result in batched}) == 3
    assert [result.input_tokens for result in batched] == [result.input_tokens for result in alone]


def test_same_seed_same_text_other_seed_other_text(tiny_lm):
    generator = TextGenerator(tiny_lm)
    reseeded = [replace(request, seed=2) for request in PROMPTS]

    first = [result.text for result in generator.generate(PROMPTS, batch_size=3)]
    again = [result.text for result in generator.generate(PROMPTS, batch_size=3)]
    other = [result.text for result in generator.generate(reseeded, batch_size=3)]

    assert first == again
    assert first != other


def test_greedy_decoding_ignores_the_seed(tiny_lm):
    generator = TextGenerator(tiny_lm, temperature=0)
    reseeded = [replace(request, seed=9) for request in PROMPTS]

    assert [r.text for r in generator.generate(PROMPTS, batch_size=3)] == [
        r.text for r in generator.generate(reseeded, batch_size=3)
    ]
    assert generator.generate(PROMPTS[:1], batch_size=1)[0].params == {"do_sample": False, "max_new_tokens": 8}


@pytest.mark.parametrize(("engine", "batch_sizes"), [
    ("generate", [2, 1, 2]),  # one call per token limit
    ("continuous", [3, 3, 3]),  # one run, as many slots as requests (up to batch_size)
])
def test_each_request_gets_its_own_token_limit(tiny_lm, engine, batch_sizes):
    short = TextRequest(user="Headline", max_new_tokens=3, seed=4)
    long = TextRequest(user="Headline", max_new_tokens=20, seed=4)

    results = TextGenerator(tiny_lm, engine=engine).generate([short, long, short], batch_size=8)

    assert [result.batch_size for result in results] == batch_sizes
    assert [result.params["max_new_tokens"] for result in results] == [3, 20, 3]
    assert 0 < results[0].output_tokens <= 3
    assert 3 < results[1].output_tokens <= 20


def test_stop_string_cuts_the_text(tiny_lm):
    generator = TextGenerator(tiny_lm)
    request = TextRequest(user="Write the evening brief.", max_new_tokens=24, seed=3)
    full = generator.generate([request], batch_size=1)[0].text
    middle = len(full) // 2
    stop = full[middle : middle + 2]
    assert stop.strip(), f"pick a visible stop string from {full!r}"

    cut = generator.generate([replace(request, stop=(stop,))], batch_size=1)

    assert cut[0].text == full[: full.index(stop)].strip()
    assert cut[0].params["stop_strings"] == [stop]
    # A text ended by a stop string was not cut off by the token limit; the full one was
    # (this seed's text never samples the end token, with either engine).
    assert not cut[0].hit_token_limit
    uncut = generator.generate([request], batch_size=1)[0]
    assert uncut.output_tokens == 24 and uncut.hit_token_limit


@pytest.mark.parametrize(("text", "expected"), [
    ("AAPL fell 2.48% to $430.47. Volume rose to", "AAPL fell 2.48% to $430.47."),
    ("United Air Lines Inc. ran 83.8% of flights on time. It was the", "United Air Lines Inc. ran 83.8% of flights on time."),
    ('He said "no." Then', 'He said "no."'),
    ("Delays rose to 12.5 minutes", ""),
    ("Done! Really?", "Done! Really?"),
])
def test_whole_sentences_trims_a_cut_off_text(text, expected):
    assert whole_sentences(text) == expected


def test_hub_id_loads_from_the_hub_cache_with_its_commit_as_revision(tmp_path, monkeypatch):
    import huggingface_hub

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--nightdesk-tests--tiny"
    build_tiny_causal_lm(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))

    lm = load_causal_lm("nightdesk-tests/tiny", device="cpu")

    assert (lm.model_id, lm.revision) == ("nightdesk-tests/tiny", commit)
    assert TextGenerator(lm).generate(PROMPTS[:1], batch_size=1)[0].output_tokens > 0


def test_unknown_model_fails_naming_it():
    with pytest.raises(ModelLoadError, match="nightdesk-tests/no-such-model"):
        load_causal_lm("nightdesk-tests/no-such-model", device="cpu")


def test_smollm2_writes_a_batch_of_texts(smollm2):
    requests = [
        TextRequest(user="Write a headline: storms delay flights out of JFK by 40 minutes.", max_new_tokens=16),
        TextRequest(user="In one sentence, why do flights get delayed?", max_new_tokens=16),
    ]

    results = TextGenerator(smollm2).generate(requests, batch_size=2)

    assert [result.batch_size for result in results] == [2, 2]
    assert all(result.text and 0 < result.output_tokens <= 16 for result in results)
    assert all(result.model_id == "smollm2" and result.revision == smollm2.revision for result in results)


def test_smollm2_continuous_engine_equals_generate_under_greedy(smollm2):
    """A real model and tokenizer: the engine's slots, refilled, give ``generate``'s texts (tests/test_text_engine.py has the rest)."""
    requests = [
        TextRequest(user="Write a headline: storms delay flights out of JFK by 40 minutes.", max_new_tokens=12),
        TextRequest(user="In one sentence, why do flights get delayed?", max_new_tokens=20),
        TextRequest(user="Name one New York airport.", max_new_tokens=6),
    ]

    continuous = TextGenerator(smollm2, temperature=0).generate(requests, batch_size=2)
    alone = TextGenerator(smollm2, temperature=0, engine="generate").generate(requests, batch_size=1)

    assert [(r.text, r.output_tokens) for r in continuous] == [(r.text, r.output_tokens) for r in alone]
    assert all(r.text for r in continuous)


def test_smollm2_locked_writes_only_the_sheets_figures(smollm2):
    """2 seeds x 4 kinds through the writer's own requests (token limits capped at 48 for CI time)."""
    sheet = sheet_for("stock_movers")
    drafts = locked_drafts(smollm2, replace(get_settings(), text_decoding="locked"), sheet, range(2), max_new_tokens=48)

    assert len(drafts) == 8 and all(drafts)
    assert {text: stray_numbers(text, sheet) for text in drafts if stray_numbers(text, sheet)} == {}


def test_locked_and_free_rows_share_a_batch(tiny_lm):
    """A free row decodes as if alone; a locked row cut by the limit never ends inside a figure."""
    free = TextRequest(user="Write the evening brief.", max_new_tokens=24, seed=5)
    locked = replace(free, lock=lock_grammar(("40.5 minutes",)))
    generator = TextGenerator(tiny_lm)

    mixed = generator.generate([free, locked], batch_size=2)
    free_alone = generator.generate([free, free], batch_size=2)[0]

    assert mixed[0].text == free_alone.text
    assert mixed[1].hit_token_limit
    assert not re.search(r"\d", mixed[1].text.replace("40.5", ""))


def test_smollm2_second_load_reads_the_converted_cache(smollm2, model_cache):
    (converted,) = [entry for entry in model_cache.iterdir() if entry.is_dir()]
    assert converted.name.startswith("SmolLM2-135M-Instruct.Q4_1-")
    weights = converted / "model.safetensors"
    written = weights.stat().st_mtime_ns

    again = load_causal_lm("smollm2", cache_dir=model_cache)

    assert again.revision == smollm2.revision
    assert weights.stat().st_mtime_ns == written
    assert [entry for entry in model_cache.iterdir() if entry.is_dir()] == [converted]
