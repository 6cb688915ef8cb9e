"""Fact-locked decoding: a locked draft holds no number but its fact sheet's figures as written.

The oracle is independent of the lock's grammar: strike every figure of the sheet from the
text (longest first), then no digit and no number word may remain. The tiny random
model writes near-uniform gibberish, so free decoding writes stray digits for some seed
(shown, so the locked assertion could fail); SmolLM2's test is in test_text_generator.py.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from generators.fact_lock import FactLock, FactLockError, figures_of, lock_grammar, number_words
from generators.random_models import build_tiny_causal_lm
from generators.text_model import load_causal_lm
from nightdesk.content.records import WorkItem
from nightdesk.content.writers import ModelTextWriter
from nightdesk.settings import get_settings
from nightdesk.stories.catalog import TEXT_KINDS, load_catalog
from nightdesk.stories.factsheet import Fact, FactSheet, format_value

SEEDS = range(8)
# A plausible value of each fact kind, enough to render any story type's templates.
_VALUES = {"count": 157, "number": 15.2, "percent": 66.9, "currency": 430.47, "date": "2013-03-01",
           "entity": "EWR", "text": "fell"}


def sheet_for(story_type: str) -> FactSheet:
    """A fact sheet of ``story_type`` with every declared fact, values made up per kind."""
    story = load_catalog().story_types[story_type]
    facts = tuple(
        Fact(spec.name, spec.kind, _VALUES[spec.kind], format_value(spec.kind, _VALUES[spec.kind], spec.decimals, spec.unit),
             spec.unit, spec.decimals, spec.label)
        for spec in story.facts
    )
    return FactSheet(f"{story_type}/2013-03-01/x", story_type, "2013-03-01", f"{story_type} on March 1, 2013", facts)


def stray_numbers(text: str, sheet: FactSheet) -> list[str]:
    """Digit runs and number words left in ``text`` once the sheet's figures are struck out."""
    for figure in sorted(figures_of(sheet.displays().values()), key=len, reverse=True):
        text = text.replace(figure, " ")
    words = re.findall(r"[^\W\d_]+", text)
    return re.findall(r"\d+", text) + [w for w in words if w.lower() in number_words()]


def locked_drafts(lm, settings, sheet: FactSheet, seeds, max_new_tokens: int | None = None) -> list[str]:
    """One draft per seed and text kind, made the way ModelTextWriter makes them."""
    from generators.text import TextGenerator

    writer = ModelTextWriter(load_catalog(), settings)
    items = [WorkItem(sheet, kind, attempt=1 + seed) for seed in seeds for kind in TEXT_KINDS]
    requests = [r for _, r in writer.requests(items)]
    if max_new_tokens:
        requests = [replace(r, max_new_tokens=min(r.max_new_tokens, max_new_tokens)) for r in requests]
    return [r.text for r in TextGenerator(lm).generate(requests, batch_size=8)]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return load_causal_lm(str(build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))), device="cpu")


@pytest.mark.parametrize(("story_type", "decoding"), [("stock_movers", "locked"), ("daily_operations", "figures")])
def test_tiny_model_locked_writes_only_the_sheets_figures(tiny_lm, story_type, decoding):
    sheet = sheet_for(story_type)
    settings = replace(get_settings(), text_decoding=decoding)
    drafts = locked_drafts(tiny_lm, settings, sheet, SEEDS)

    assert len(drafts) == len(SEEDS) * len(TEXT_KINDS)
    assert {text: stray_numbers(text, sheet) for text in drafts if stray_numbers(text, sheet)} == {}
    assert sum(bool(text) for text in drafts) > len(drafts) // 2  # the lock leaves the model text to write


def test_tiny_model_free_decoding_writes_stray_digits(tiny_lm):
    sheet = sheet_for("stock_movers")
    drafts = locked_drafts(tiny_lm, replace(get_settings(), text_decoding="free"), sheet, SEEDS)

    assert any(re.search(r"\d", "".join(stray_numbers(text, sheet))) for text in drafts)


def test_grammar_accepts_figures_and_words_and_refuses_other_numbers(tiny_lm):
    lock = FactLock(tiny_lm.tokenizer, vocab_size=tiny_lm.model.config.vocab_size)
    grammar = lock_grammar(figures_of(["2.48%", "March 1, 2013", "19,730,300 shares", "2 flights", "17.3 minutes"]))

    def accepts(text: str) -> bool:
        tokens = tiny_lm.tokenizer.encode(text, add_special_tokens=False)
        return lock.complete_length(grammar, tokens) == len(tokens)

    assert accepts("Shares fell 2.48% on March 1, 2013, on 19,730,300 shares.")
    assert accepts("Often someone traded 19,730,300 of them.")  # "ten", "one" inside words are not numbers
    assert accepts("2 flights, 17.3 minutes late; 2. 17.3.")
    # Figures joined into another number, number words alone or glued to a word (as SmolLM2 wrote them):
    for refused in ("Shares fell 3%.", "It fell 2.49%.", "fourteen", "a Dozen days", "2.48%2.48%", "twenty-one",
                    "at 2.17.3 mph", "2/17.3", "2.48%-19,730,300", "The threeNYC airports", "the twond issue"):
        assert not accepts(refused), refused


def test_figures_are_the_displays_with_digits_also_bare_and_unsigned():
    assert figures_of(["-2.48%", "19,730,300 shares", "March 1, 2013", "AAPL", "fell"]) == (
        "-2.48%", "2.48%", "19,730,300 shares", "19,730,300", "March 1, 2013")


def test_names_lock_refuses_capitalised_words_outside_the_set(tiny_lm):
    lock = FactLock(tiny_lm.tokenizer, vocab_size=tiny_lm.model.config.vocab_size)
    grammar = lock_grammar(("2.48%",), names={"AAPL", "Shares"})
    index = lock.add(grammar)
    for token in tiny_lm.tokenizer.encode("Shares of AAPL fell 2.48% ", add_special_tokens=False):
        lock.accept(index, token)
    with pytest.raises(FactLockError, match="not allowed"):
        for token in tiny_lm.tokenizer.encode("at Microsoft", add_special_tokens=False):
            lock.accept(index, token)


def test_fill_bitmasks_fills_each_requests_row(tiny_lm):
    """The continuous-batching interface: masks per (request, row), any order, rows of any batch."""
    lock = FactLock(tiny_lm.tokenizer, vocab_size=tiny_lm.model.config.vocab_size)
    tokenizer = tiny_lm.tokenizer
    digit = tokenizer.convert_tokens_to_ids("7")
    free, locked = lock.add(lock_grammar((), banned_words=())), lock.add(lock_grammar(("7 days",)))
    bitmask = lock.allocate_bitmask(3)
    bitmask.zero_()
    lock.fill_bitmasks(bitmask, [(locked, 2), (free, 0)])

    def allowed(row: int, token: int) -> bool:
        return bool((int(bitmask[row, token // 32]) >> (token % 32)) & 1)

    assert not allowed(0, digit)  # no figure "7" on the first sheet
    assert allowed(2, digit)  # "7 days" starts with it
    assert not bitmask[1].any()  # row 1 belongs to no request here: untouched
    lock.accept(locked, digit)
    lock.fill_bitmask(locked, bitmask, row=1)
    assert not allowed(1, digit)  # "77" is no figure


def test_requests_of_one_grammar_advance_apart(tiny_lm):
    """The grammar is compiled once; each request steps its own copy of the matcher."""
    lock = FactLock(tiny_lm.tokenizer, vocab_size=tiny_lm.model.config.vocab_size)
    digit = tiny_lm.tokenizer.convert_tokens_to_ids("7")
    grammar = lock_grammar(("7 days",))
    first, second = lock.add(grammar), lock.add(grammar)
    lock.accept(first, digit)
    bitmask = lock.allocate_bitmask(2)
    lock.fill_bitmasks(bitmask, [(first, 0), (second, 1)])

    def allowed(row: int) -> bool:
        return bool((int(bitmask[row, digit // 32]) >> (digit % 32)) & 1)

    assert not allowed(0) and allowed(1)  # "77" is no figure; the second request has written nothing yet
    with pytest.raises(FactLockError, match="invalid"):
        lock.add("start: (")


def test_setting_rejects_unknown_decoding(monkeypatch):
    monkeypatch.setenv("NIGHTDESK_TEXT_DECODING", "loose")
    with pytest.raises(ValueError, match="NIGHTDESK_TEXT_DECODING='loose' is not one of locked, figures, free"):
        get_settings()
