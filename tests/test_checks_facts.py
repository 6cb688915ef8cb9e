"""The fact check: every figure, date and name in a draft must be backed by its fact sheet.

Drafts here are crafted the way the model writes them (faithful ones, paraphrases,
rounded figures) and the way it gets them wrong (wrong percentage, swapped date,
invented company), against realistic fact sheets of the shipped story types.
"""

from __future__ import annotations

import pytest
from generators.templated import render_template

from nightdesk.checks.facts import check_facts
from nightdesk.stories.catalog import TEXT_KINDS, load_catalog
from nightdesk.stories.factsheet import Fact, FactKind, FactSheet, format_value


def _fact(name: str, kind: FactKind, value: object, unit: str | None = None, decimals: int | None = None) -> Fact:
    return Fact(name, kind, value, format_value(kind, value, decimals, unit), unit, decimals, name)


UNITED = FactSheet(
    story_id="carrier_spotlight/2013-03-01/UA", story_type="carrier_spotlight", logical_date="2013-03-01",
    title="United Air Lines Inc. on March 1, 2013",
    facts=(
        _fact("flight_date", "date", "2013-03-01"),
        _fact("carrier_name", "entity", "United Air Lines Inc."),
        _fact("flights", "count", 167, "flights"),
        _fact("cancelled", "count", 0, "flights"),
        _fact("on_time_pct", "percent", 83.8, decimals=1),
        _fact("overall_on_time_pct", "percent", 80.2, decimals=1),
        _fact("avg_dep_delay_min", "number", 9.0, "minutes", 1),
        _fact("busiest_route", "entity", "EWR-IAH"),
    ),
)
AAPL = FactSheet(
    story_id="stock_movers/2013-03-01/AAPL", story_type="stock_movers", logical_date="2013-03-01",
    title="AAPL fell 2.48% on March 1, 2013",
    facts=(
        _fact("trade_date", "date", "2013-03-01"),
        _fact("ticker", "entity", "AAPL"),
        _fact("close", "currency", 430.47, "USD", 2),
        _fact("prev_close", "currency", 441.40, "USD", 2),
        _fact("change_pct", "percent", -2.48, decimals=2),
        _fact("direction", "text", "fell"),
        _fact("volume", "count", 11523400, "shares"),
    ),
)
UNITED_BRIEF = (
    "United Air Lines Inc. operated 167 flights from the New York airports on March 1, 2013, and 83.8% of "
    "them arrived on time, against 80.2% for all airlines. Departures left an average of 9.0 minutes late "
    "and 0 flights were cancelled. Its busiest route was EWR-IAH."
)


def _unbacked(text: str, sheet: FactSheet) -> list[str]:
    """The exact text of every failing finding's span."""
    result = check_facts(text, sheet)
    assert result.passed == (not result.details)
    return [text[f.span[0]:f.span[1]] for f in result.details if f.severity == "fail"]


def test_faithful_brief_passes():
    result = check_facts(UNITED_BRIEF, UNITED)
    assert result.name == "facts"
    assert result.passed, result.details


def test_faithful_paraphrase_with_other_renderings_passes():
    text = (
        "On Friday, United's 167 flights ran 84% on time, none cancelled (zero cancellations). "
        "United Airlines flew EWR-IAH most, and departures left nine minutes late on average in 2013."
    )
    assert _unbacked(text, UNITED) == []


def test_faithful_stock_brief_passes():
    text = (
        "Shares of AAPL fell 2.48% on Friday, March 1, 2013, closing at $430.47 against a previous close of "
        "before. About 11.5 million shares changed hands."
    )
    assert _unbacked(text, AAPL) == []


def test_wrong_percentage_fails_naming_figure_span_and_nearest_fact():
    text = "United Air Lines Inc. ran 85% of its flights on time on March 1, 2013."
    result = check_facts(text, UNITED)
    assert not result.passed
    [finding] = result.details
    start = text.index("85%")
    assert finding.span == (start, start + 3)
    assert finding.message == f"unbacked figure '85%' at {start}-{start + 3}: nearest percent fact on_time_pct is 83.8%"


def _only_unbacked(text: str, sheet: FactSheet, figure: str | None) -> None:
    """``figure`` (or nothing, when None) is exactly what the check reports."""
    assert _unbacked(text, sheet) == ([] if figure is None else [figure])


@pytest.mark.parametrize("written, unbacked", [
    ("83.8%", None), ("84%", None), ("83.84%", None), ("83.8 percent", None), ("84 per cent", None),
    ("85%", "85%"), ("83.9%", "83.9%"), ("83.7%", "83.7%"), ("83.85%", "83.85%"),
    ("83.8", "83.8"),  # percent facts back percentages only
])
def test_percentages_match_within_the_precision_written(written, unbacked):
    sheet = FactSheet("s", "carrier_spotlight", "2013-03-01", "t", (_fact("on_time_pct", "percent", 83.84, decimals=1),))
    _only_unbacked(f"On time: {written} of flights.", sheet, unbacked)


@pytest.mark.parametrize("written, unbacked", [
    ("$430.47", None), ("430.47 dollars", None), ("$430", None), ("USD 430.47", None), ("$430.5", None),
    ("$431", "$431"), ("$430.48", "$430.48"), ("430.47", "430.47"), ("€430.47", "€430.47"),
])
def test_currency_facts_back_dollar_amounts_only(written, unbacked):
    _only_unbacked(f"AAPL closed at {written} on March 1, 2013.", AAPL, unbacked)


@pytest.mark.parametrize("written, unbacked", [
    ("11,523,400", None), ("11.5 million", None), ("11.52 million", None), ("12 million", None),
    ("11.6 million", "11.6 million"), ("11,523,401", "11,523,401"),
    ("11523400.5", "11523400.5"),  # counts back whole numbers only
])
def test_counts_and_scaled_amounts(written, unbacked):
    _only_unbacked(f"AAPL traded {written} shares.", AAPL, unbacked)


@pytest.mark.parametrize("written, unbacked", [
    ("fell 2.48%", None), ("moved -2.48%", None), ("fell 2.5%", None),
    ("changed by +2.48%", "+2.48%"), ("fell 2.4%", "2.4%"),
])
def test_sign_must_match_when_written(written, unbacked):
    _only_unbacked(f"AAPL {written}.", AAPL, unbacked)


@pytest.mark.parametrize("written, unbacked", [
    ("9 minutes", None), ("9.0 minutes", None), ("nine minutes", None), ("a 9-minute average delay", None),
    ("9 flights", "9"),           # a count noun: only count facts may back it
    ("0 minutes", "0"),           # a measure: only facts in minutes may back it
    ("9 hours", "9"), ("9 hrs", "9"), ("9 days", "9"),  # the right number in a unit no fact has
    ("167 departures", None),     # count nouns are interchangeable
    ("one flight", "one"), ("one of the busiest carriers", None),  # "one" is a pronoun without a unit
    ("a dozen flights", "a dozen"), ("top 3 routes", "3"),
])
def test_units_and_number_words(written, unbacked):
    _only_unbacked(f"United Air Lines Inc. reported {written}.", UNITED, unbacked)


@pytest.mark.parametrize("text, unbacked", [
    ("The figures cover 2013.", None), ("It was the best day since 2012.", "2012"),
    ("United Air Lines Inc. flew 2013 flights.", "2013"),  # a count, not a year
])
def test_years_are_backed_by_the_sheets_dates(text, unbacked):
    _only_unbacked(text, UNITED, unbacked)


@pytest.mark.parametrize("rank", ["second", "3rd", "#1", "No. 1", "first"])
def test_ranks_need_a_fact(rank):
    text = f"United Air Lines Inc. was {rank} at EWR."
    assert _unbacked(text, UNITED) == [rank]


@pytest.mark.parametrize("written", [
    "March 1, 2013", "Mar. 1", "March 1", "1 March 2013", "the 1st of March", "2013-03-01", "3/1/2013",
    "Friday", "Friday, March 1, 2013", "March 2013",
])
def test_dates_written_any_way_are_backed(written):
    assert check_facts(f"United Air Lines Inc. flew 167 flights on {written}.", UNITED).passed, written


@pytest.mark.parametrize("written", [
    "March 2, 2013", "Mar. 2", "1 March 2012", "2013-01-03", "2013-03-02", "Thursday", "Thursday, March 1, 2013",
    "April", "February 30",
])
def test_swapped_or_impossible_dates_fail(written):
    text = f"United Air Lines Inc. flew 167 flights on {written}."
    assert _unbacked(text, UNITED) == [written]


def test_swapped_date_message_names_the_sheets_date():
    [finding] = check_facts("AAPL fell 2.48% on Thursday.", AAPL).details
    assert "'Thursday'" in finding.message and "trade_date is March 1, 2013 (a Friday)" in finding.message


@pytest.mark.parametrize("text, invented", [
    ("Delta Air Lines ran 83.8% of its flights on time.", "Delta Air Lines"),
    ("United Air Lines Inc. chief Scott Kirby praised the crews.", "Scott Kirby"),
    ("United flew most often from EWR to JFK.", "JFK"),
    ("Apple shares were quiet while United flew 167 flights.", "Apple"),
    ("The busiest route, EWR-IAH, beat MSFT.", "MSFT"),
    ("United Air Lines Inc. and Bank of America announced a deal.", "Bank of America"),
])
def test_invented_names_fail(text, invented):
    result = check_facts(text, UNITED)
    assert _unbacked(text, UNITED) == [invented]
    assert result.details[0].message.startswith(f"unbacked name '{invented}'")


@pytest.mark.parametrize("text", [
    "United ran on time.",                            # short form of the carrier's name
    "united air lines inc ran on time on March 1.",             # case and punctuation ignored
    "United's busiest route was EWR-IAH.",            # possessive
    "Flights to IAH left from EWR.",                  # parts of the route
    "The carrier flew from New York on March 1.",               # sentence start; standing context
    "Departures were late on March 1. Flying from New York? Plan ahead.",
    "United Air Lines Runs 83.8% Of Flights On Time On March 1",  # Title Case headline
])
def test_backed_and_ordinary_capitalised_words_pass(text):
    assert _unbacked(text, UNITED) == []


def test_callers_can_allow_more_standing_phrases():
    text = "United Air Lines Inc. is a Star Alliance member."
    assert _unbacked(text, UNITED) == ["Star Alliance"]
    assert check_facts(text, UNITED, allowed=["Star Alliance"]).passed


def test_every_unbacked_item_is_reported_once_with_its_span():
    text = "Delta ran 85% of 170 flights on time on March 2, 2013."
    assert _unbacked(text, UNITED) == ["Delta", "85%", "170", "March 2, 2013"]


_SAMPLE_NUMBERS = {"count": 160, "number": 9.04, "percent": 83.84, "currency": 430.47}


def _sample_value(kind: FactKind, name: str, i: int) -> object:
    """A plausible value; numbers differ per fact so no fact backs another's figure by chance."""
    if kind in _SAMPLE_NUMBERS:
        return _SAMPLE_NUMBERS[kind] + i
    return {"date": "2013-03-01", "text": "rose"}.get(kind, f"Northwind {name.split('_')[0].title()}")


@pytest.mark.parametrize("story_type", sorted(load_catalog().story_types))
def test_shipped_templates_render_to_backed_text(story_type):
    """Every story template, filled from its own fact sheet, must pass: the templates are
    the fallback copy, and a false alarm here would block every day's story."""
    story = load_catalog().story_types[story_type]
    facts = tuple(_fact(f.name, f.kind, _sample_value(f.kind, f.name, i), f.unit, f.decimals)
                  for i, f in enumerate(story.facts))
    sheet = FactSheet(f"{story_type}/2013-03-01/x", story_type, "2013-03-01", "t", facts)
    for kind in TEXT_KINDS:
        text = render_template(story.templates[kind], sheet.displays())
        result = check_facts(text, sheet)
        assert result.passed, (kind, text, result.details)
