"""Binding, grounded claims and content minimums (issue 8), on the drafts quoted there.

Every failing draft below was published by the demo (or is one of its class) and passed
the old checks; each must now fail with a finding that names the figure and the facts
involved, and the correct draft in the same words must pass. Fact sheets carry the demo's
values for the days named.
"""

from __future__ import annotations

import json

import pytest

from generators.templated import render_template
from nightdesk.checks import check_siblings, passed, run_text_checks
from nightdesk.checks.facts import check_facts
from nightdesk.stories.catalog import TEXT_KINDS, load_catalog
from nightdesk.stories.factsheet import Fact, FactKind, FactSheet, format_value


def _fact(name: str, kind: FactKind, value: object, unit: str | None = None, decimals: int | None = None) -> Fact:
    """A fact as the selector builds it, naming words and directions from the shipped story.yml."""
    return Fact(name, kind, value, format_value(kind, value, decimals, unit), unit, decimals, name)


def _sheet(story_type: str, day: str, key: str, values: dict[str, object]) -> FactSheet:
    """A sheet of the shipped story type; a fact the values leave out has no value (as the
    selector writes a NULL column: shown as n/a, bound to nothing)."""
    story = load_catalog().story_types[story_type]
    unknown = set(values) - {f.name for f in story.facts}
    assert not unknown, f"{story_type} declares no facts {sorted(unknown)}"
    facts = tuple(
        Fact(f.name, f.kind, values.get(f.name), format_value(f.kind, values.get(f.name), f.decimals, f.unit), f.unit,
             f.decimals, f.label or f.name, f.names, f.directions)
        for f in story.facts
    )
    return FactSheet(f"{story_type}/{day}/{key}", story_type, day, "t", facts)


FB = _sheet("stock_movers", "2013-03-01", "FB", {
    "trade_date": "2013-03-01", "prev_trade_date": "2013-02-28", "ticker": "FB", "close": 27.78, "prev_close": 27.25, "change_pct": 1.94,
    "abs_change_pct": 1.94, "direction": "rose", "volume": 39587400, "volume_vs_avg_pct": 23.9,
    "volume_avg_days": 20})
AAPL = _sheet("stock_movers", "2013-03-01", "AAPL", {
    "trade_date": "2013-03-01", "prev_trade_date": "2013-02-28", "ticker": "AAPL", "close": 430.47, "prev_close": 441.40, "change_pct": -2.48,
    "abs_change_pct": 2.48, "direction": "fell", "volume": 11523400, "volume_vs_avg_pct": -11.7,
    "volume_avg_days": 20})
EWR = _sheet("airport_delay_anomaly", "2013-02-21", "EWR", {
    "flight_date": "2013-02-21", "airport": "EWR", "departures": 353, "cancelled": 14, "on_time_pct": 66.9,
    "avg_dep_delay_min": 15.2, "trailing_avg_delay_min": 15.2, "trailing_days": 0, "total_precip_in": 0.0,
    "max_wind_mph": 27.6})
NEW_YORK = _sheet("daily_operations", "2013-02-22", "NYC", {
    "flight_date": "2013-02-22", "departures": 957, "cancelled": 17, "on_time_pct": 78.7,
    "most_delayed_airport": "EWR", "most_delayed_avg_min": 15.2, "least_delayed_airport": "LGA",
    "least_delayed_avg_min": 0.9})
UNITED = _sheet("carrier_spotlight", "2013-03-01", "UA", {
    "flight_date": "2013-03-01", "carrier_name": "United Air Lines Inc.", "flights": 167, "cancelled": 1,
    "on_time_pct": 83.8, "overall_on_time_pct": 80.2, "avg_dep_delay_min": 9.0, "busiest_route": "EWR-IAH",
    "busiest_route_ties": 1, "busiest_routes": "EWR-IAH"})
# Two routes tied for busiest (as on 2013-02-27): the tie is named in brief and marketing alike.
UNITED_TIED = _sheet("carrier_spotlight", "2013-02-27", "UA", {
    **{f.name: f.value for f in UNITED.facts}, "flight_date": "2013-02-27", "busiest_route": "EWR-BOS",
    "busiest_route_ties": 2, "busiest_routes": "EWR-BOS, EWR-ORD"})
SHEETS = {"FB": FB, "AAPL": AAPL, "EWR": EWR, "NEW_YORK": NEW_YORK, "UNITED": UNITED, "UNITED_TIED": UNITED_TIED}


def _failing(results) -> list[str]:
    return [f.message for r in results for f in r.details if f.severity == "fail"]


def _checks(kind: str, text: str, sheet: FactSheet) -> list[str]:
    return _failing(run_text_checks(kind, text, sheet))


def _one_naming(messages: list[str], *parts: str) -> str:
    hits = [m for m in messages if all(p in m for p in parts)]
    assert hits, (parts, messages)
    return hits[0]


# --- binding: value and meaning --------------------------------------------------------


def test_price_change_written_as_volume_fails_naming_both_facts():
    bad = "FB shares rose 1.94% on March 1, 2013, and a 1.94% increase in volume was recorded."
    good = "FB shares rose 1.94% on March 1, 2013, and volume was 23.9% above its average."
    message = _one_naming(_failing([check_facts(bad, FB)]), "'1.94%'", "shares traded vs the average", "(23.9%)", "change_pct")
    assert "reads as" in message
    assert check_facts(good, FB).passed


def test_delay_written_as_precipitation_fails():
    bad = ("Departures from EWR averaged 15.2 minutes late on February 21, 2013, with a 27.6 mph wind speed "
           "and 15.2 minutes of precipitation.")
    good = ("Departures from EWR averaged 15.2 minutes late on February 21, 2013, with a 27.6 mph wind speed "
            "and 0.00 inches of precipitation.")
    _one_naming(_failing([check_facts(bad, EWR)]), "'15.2'", "precipitation", "avg_dep_delay_min")
    assert check_facts(good, EWR).passed, check_facts(good, EWR).details


def test_cancelled_count_written_as_days_fails():
    bad = "EWR handled 353 departures on February 21, 2013, 14 days ahead of schedule."
    good = "EWR handled 353 departures on February 21, 2013, and 14 flights were cancelled."
    _one_naming(_failing([check_facts(bad, EWR)]), "'14'", "days", "cancelled (14 flights)")
    assert check_facts(good, EWR).passed


def test_a_value_two_facts_share_with_no_naming_word_is_ambiguous():
    sheet = _sheet("carrier_spotlight", "2013-03-01", "UA", {
        "flight_date": "2013-03-01", "carrier_name": "United Air Lines Inc.", "flights": 167, "cancelled": 1,
        "on_time_pct": 80.2, "overall_on_time_pct": 80.2, "avg_dep_delay_min": 9.0, "busiest_route": "EWR-IAH"})
    _one_naming(_failing([check_facts("United Air Lines Inc. hit 80.2% on March 1, 2013.", sheet)]),
                "'80.2%'", "ambiguous", "on_time_pct", "overall_on_time_pct")
    assert check_facts("United Air Lines Inc. ran 80.2% of its flights on time on March 1, 2013.", sheet).passed


def test_a_figure_repeated_in_one_clause_and_a_unit_no_fact_has_fail():
    bad = "The 957 departed from 957 and 17 times, and the 957 departed from 957, with 17 extra flights."
    messages = _failing([check_facts(bad, NEW_YORK)])
    _one_naming(messages, "states departures again")
    _one_naming(messages, "'17'", "no fact in times")
    good = "The three New York airports handled 957 departures on February 22, 2013, and 17 flights were cancelled."
    assert check_facts(good, NEW_YORK).passed


@pytest.mark.parametrize("bad", [
    "On February 22, 2013, 957 departures left New York, and there was a 78.7% increase in punctuality.",
    "On February 22, 2013, New York had 957 departures, 78.7% cancelled.",
])
def test_a_rate_written_as_a_change_or_as_another_fact_fails(bad):
    _one_naming(_failing([check_facts(bad, NEW_YORK)]), "'78.7%'", "on_time_pct")


def test_naming_word_belongs_to_the_nearest_figure_that_can_state_it():
    text = "On February 22, 2013, 78.7% of 957 departures from New York left on time."
    result = check_facts(text, NEW_YORK)
    assert result.passed, result.details
    assert "2 of 2 figures bound" in result.verified


# --- directions ------------------------------------------------------------------------


@pytest.mark.parametrize("bad, good", [
    ("AAPL shares rose 2.48% on March 1, 2013", "AAPL shares fell 2.48% on March 1, 2013"),
    ("AAPL volume was 11.7% above its average on March 1, 2013.", "AAPL volume was 11.7% below its average on "
                                                                   "March 1, 2013."),
    ("FB shares closed at $27.78, down from a previous close of $27.25.", "FB shares closed at $27.78, up from a "
                                                                          "previous close of $27.25."),
])
def test_direction_words_agree_with_the_sign_of_their_fact(bad, good):
    sheet = AAPL if "AAPL" in bad else FB
    _one_naming(_failing([check_facts(bad, sheet)]), "direction word", "but it is")
    result = check_facts(good, sheet)
    assert result.passed and "direction agrees" in result.verified, result.details


@pytest.mark.parametrize("bad, good", [
    ("United Air Lines Inc. ran 80.2% of flights on time for all airlines, above the 83.8% on time for United "
     "on March 1, 2013.", "United Air Lines Inc. ran 83.8% of flights on time on March 1, 2013, above the 80.2% "
                          "for all airlines."),
    ("AAPL closed at $441.40 on March 1, 2013 as its close, below the $430.47 previous close.",
     "AAPL closed at $430.47 on March 1, 2013, below a previous close of $441.40."),
])
def test_comparisons_between_two_figures_agree_with_their_values(bad, good):
    sheet = AAPL if "AAPL" in bad else UNITED
    messages = _failing([check_facts(bad, sheet)])
    assert messages and all("comparison" in m or "reads as" in m for m in messages), messages
    assert check_facts(good, sheet).passed, check_facts(good, sheet).details
    swapped = good.replace("above", "below") if "above" in good else good.replace("below", "above")
    # "above" is also a direction word of the share move (AAPL "closed above" when it fell):
    # either finding says what is wrong.
    wrong = _failing([check_facts(swapped, sheet)])
    assert any("comparison" in m or "direction word 'above'" in m for m in wrong), wrong


def test_a_figure_bound_to_two_facts_of_equal_value_is_compared_without_error():
    """EWR's delay and its trailing average are both 15.2: one mention may be bound to either."""
    from nightdesk.checks.clauses import Bound, Clauses
    from nightdesk.checks.directions import comparisons

    text = "Delays of 15.2 minutes were above 14.0 minutes."
    first, second = [(text.index(f), text.index(f) + len(f)) for f in ("15.2", "14.0")]
    figures = [Bound("avg_dep_delay_min", first, "figure"), Bound("trailing_avg_delay_min", first, "figure"),
               Bound("avg_dep_delay_min", second, "figure")]

    def found(bound):
        return [f.message for f in comparisons(Clauses(text, [first, second]), EWR.facts, bound, set(), ["more: above"],
                                                     {})]

    # The bug was a TypeError sorting facts of one position; either binding is then compared.
    assert all(isinstance(m, str) for m in found(figures) + found([figures[0], figures[2]]))


# --- time, claims, grounding -----------------------------------------------------------


def test_relative_time_fails_unless_the_sheet_states_it():
    bad = "The three New York airports handled 957 departures on the day before February 22, 2013."
    _one_naming(_failing([check_facts(bad, NEW_YORK)]), "relative time 'the day before'", "2013-02-22")
    assert check_facts(bad.replace("the day before ", ""), NEW_YORK).passed


def test_invented_accident_and_storm_fail_as_claims_and_time():
    bad = ("This week, a devastating air accident at EWR's New York airport on February 21, 2013 was caused by "
           "a storm that affected the airport's operations.")
    messages = _checks("summary", bad, EWR)
    for part in ("'This week'", "'devastating'", "'accident'", "'caused by'", "'storm'"):
        _one_naming(messages, part)


@pytest.mark.parametrize("sheet, text, claim", [
    ("NEW_YORK", "On February 22, 2013, 78.7% of departures left on time in the world's largest economy, "
                 "New York City.", "'largest'"),
    ("EWR", "EWR departures averaged 15.2 minutes late on February 21, 2013, as reported by several news "
            "outlets.", "'reported by'"),
    ("NEW_YORK", "New York departures on February 22, 2013: New York, the big city that never sleeps, had "
                 "957 departures.", "'never sleeps'"),
    ("EWR", "EWR departures averaged 15.2 minutes late on February 21, 2013, due to the weather.", "'due to'"),
    ("FB", "FB shares rose 1.94% on March 1, 2013, according to analysts.", "'according to'"),
])
def test_unbacked_claims_fail(sheet, text, claim):
    _one_naming(_checks("summary", text, SHEETS[sheet]), "unsupported claim", claim)


def test_every_sentence_states_a_fact():
    text = ("Flying from New York? On March 1, 2013, 83.8% of United Air Lines Inc. flights from New York were on "
            "time, against 80.2% for all airlines.")
    _one_naming(_checks("marketing", text, UNITED), "states no fact", "Flying from New York?")
    assert passed(run_text_checks("marketing", text.replace("Flying from New York? ", ""), UNITED))


def test_a_draft_with_nothing_verifiable_fails():
    text = "I'd be happy to provide a travel or finance newsletter that keeps readers informed."
    messages = _checks("marketing", text, FB)
    _one_naming(messages, "nothing verifiable")
    _one_naming(messages, "I'd be happy")


# --- content minimums ------------------------------------------------------------------


def test_a_headline_label_without_verb_or_direction_fails():
    messages = _checks("headline", "AAPL: 2013-03-01 2.48%", AAPL)
    _one_naming(messages, "no verb")
    _one_naming(messages, "change_pct without its direction")
    assert passed(run_text_checks("headline", "AAPL shares fell 2.48% on March 1, 2013", AAPL))


def test_a_headline_names_its_subject_and_key_fact():
    _one_naming(_checks("headline", "Shares fell 2.48% on March 1, 2013", AAPL), "subject 'AAPL'")
    _one_naming(_checks("headline", "AAPL closed at $430.47 on March 1, 2013", AAPL), "key fact change_pct")


def test_headline_word_limit_comes_from_kinds_yml():
    limits = load_catalog().kinds["headline"].rules
    words = "AAPL shares fell 2.48% on March 1, 2013 " + "after a very long session " * 2
    _one_naming(_checks("headline", words.strip(), AAPL), f"must have {limits.min_words}-{limits.max_words}")


@pytest.mark.parametrize("kind, text, needed", [
    ("brief", "AAPL shares fell 2.48% in a long and busy session for the stock that kept its traders and "
              "its watchers busy from the opening bell to the close of the market.", 3),
    ("summary", "AAPL shares had a long session that kept its traders and watchers busy all day.", 2),
])
def test_briefs_and_summaries_carry_enough_facts(kind, text, needed):
    _one_naming(_checks(kind, text, AAPL), f"at least {needed}")


def test_a_promise_fails_in_marketing():
    text = "Follow the markets with us: AAPL shares fell 2.48% on March 1, 2013, and you will never miss a move."
    _one_naming(_checks("marketing", text, AAPL), "a promise")


def test_copying_the_description_back_fails():
    text = ("The daily recap of departures from the three New York airports: 957 departures on February 22, "
            "2013, and 78.7% of them left on time.")
    _one_naming(_checks("summary", text, NEW_YORK), "copies its instructions or story description")


def test_a_draft_repeating_a_sibling_kind_fails():
    summary = "AAPL fell 2.48% to $430.47 on March 1, 2013, with 11,523,400 shares traded."
    result = check_siblings("marketing", summary, {"summary": summary, "headline": "AAPL shares slid"})
    assert not result.passed and "repeats the summary" in result.details[0].message
    assert check_siblings("marketing", summary, {"headline": "AAPL shares fell 2.48% on March 1, 2013"}).passed
    assert [r.name for r in run_text_checks("summary", summary, AAPL, siblings={"marketing": summary})
            if not r.passed] == ["siblings"]


# --- the shipped templates obey every rule ----------------------------------------------


@pytest.mark.parametrize("name", sorted(SHEETS))
def test_every_template_passes_every_check_on_a_real_sheet(name):
    sheet = SHEETS[name]
    story = load_catalog().story_types[sheet.story_type]
    texts = {kind: render_template(story.templates[kind], sheet.displays()) for kind in TEXT_KINDS}
    for kind, text in texts.items():
        results = run_text_checks(kind, text, sheet, siblings=texts)
        assert passed(results), (kind, text, _failing(results))
        facts = next(r for r in results if r.name == "facts")
        assert facts.verified and "0 of" not in facts.verified[0], facts.verified


def test_a_draft_that_prints_a_missing_value_fails():
    sheet = _sheet("stock_movers", "2013-03-01", "FB", {
        **{f.name: f.value for f in FB.facts}, "volume_vs_avg_pct": None, "volume_avg_days": None})
    bad = "FB shares rose 1.94% on March 1, 2013, on volume n/a away from its average."
    _one_naming(_failing([check_facts(bad, sheet)]), "missing value", "'n/a'")
    brief = render_template(load_catalog().story_types["stock_movers"].templates["brief"], sheet.displays())
    assert "n/a" not in brief and not _checks("brief", brief, sheet), brief


def test_templates_agree_in_number_and_sign():
    story = load_catalog().story_types["carrier_spotlight"]
    assert "1 flight was cancelled" in render_template(story.templates["brief"], UNITED.displays())
    many = _sheet("carrier_spotlight", "2013-03-01", "UA", {**{f.name: f.value for f in UNITED.facts}, "cancelled": 14})
    assert "14 flights were cancelled" in render_template(story.templates["brief"], many.displays())
    brief = render_template(load_catalog().story_types["stock_movers"].templates["brief"], AAPL.displays())
    assert "11.7% below its average over the previous 20 trading days" in brief


def test_old_stored_fact_sheets_still_load_and_get_their_names_from_story_yml():
    data = json.loads(FB.to_json())
    for fact in data["facts"]:
        del fact["names"], fact["directions"]
    old = FactSheet.from_json(json.dumps(data))
    assert old.get("volume").names == () and old.get("change_pct").directions == {}
    assert FactSheet.from_json(FB.to_json()) == FB
    bad = "FB shares rose 1.94% on March 1, 2013, and a 1.94% increase in volume was recorded."
    assert not check_facts(bad, old).passed


def test_instructions_take_audience_from_the_domain():
    catalog = load_catalog()
    assert "travel or finance" not in " ".join(k.instruction for k in catalog.kinds.values())
    assert "stock market" in catalog.story_types["stock_movers"].kinds["marketing"].instruction
    assert "New York airports" in catalog.story_types["daily_operations"].kinds["marketing"].instruction


# --- domains ---------------------------------------------------------------------------


def test_a_new_domains_ordinary_sentence_start_is_not_an_unbacked_name():
    """A story type outside the flight and market domains (monthly home sales) is checked
    with the shared defaults and its own vocabulary: "Sales" and "Listings" open sentences
    without being names, while an invented city still fails."""
    facts = (
        Fact("month", "date", "2013-03-01", "March 1, 2013", label="Month"),
        Fact("city", "entity", "Austin", "Austin", label="City"),
        Fact("sales", "count", 2311, "2,311 sales", "sales", label="Home sales", names=("sales", "sold")),
        Fact("listings", "count", 6051, "6,051 listings", "listings", label="Active listings", names=("listings",)),
    )
    sheet = FactSheet("txhousing/2013-03-01/Austin", "txhousing", "2013-03-01", "t", facts)
    text = "Sales in Austin reached 2,311 sales on March 1, 2013. Listings stood at 6,051 listings."
    result = check_facts(text, sheet)
    assert result.passed, result.details
    _one_naming(_failing([check_facts(text.replace("in Austin", "in Houston"), sheet)]), "unbacked name 'Houston'")


def test_domain_lists_add_to_the_shared_defaults(tmp_path):
    from nightdesk.checks.wordlists import domain_list
    from nightdesk.stories.catalog import STORIES_DIR

    housing = tmp_path / "domains" / "housing"
    housing.mkdir(parents=True)
    (housing / "common_words.txt").write_text("# housing words\nescrow\n")
    words = domain_list(housing, "common_words.txt")
    assert "escrow" in words and "meanwhile" in words  # its own, and the shipped defaults
    assert domain_list(housing, "relative_time.txt") == domain_list(STORIES_DIR / "domains" / "default",
                                                                    "relative_time.txt")
    aviation = domain_list(STORIES_DIR / "domains" / "aviation", "allowed_phrases.txt")
    assert "New York" in aviation and "New York" not in domain_list(STORIES_DIR / "domains" / "markets",
                                                                    "allowed_phrases.txt")


def test_a_story_type_naming_a_missing_domain_is_refused(tmp_path):
    import shutil

    from nightdesk.stories.catalog import STORIES_DIR, StoryDeclarationError

    shutil.copy(STORIES_DIR / "kinds.yml", tmp_path / "kinds.yml")
    shutil.copytree(STORIES_DIR / "domains", tmp_path / "domains")
    shutil.copytree(STORIES_DIR / "stock_movers", tmp_path / "stock_movers")
    path = tmp_path / "stock_movers" / "story.yml"
    path.write_text(path.read_text().replace("domain: markets", "domain: housing"))
    with pytest.raises(StoryDeclarationError, match="domain 'housing' has no folder"):
        load_catalog(tmp_path)
    path.write_text(path.read_text().replace("domain: housing", "domain: markets").replace(
        "key_fact: change_pct", "key_fact: change"))
    with pytest.raises(StoryDeclarationError, match="key_fact 'change'"):
        load_catalog(tmp_path)


# --- what a sentence may say: the story's words, not the model's own -------------------
# Verbatim SmolLM2 drafts of 2013-02-27 (benchmarks/night_quality.py) that bound every
# figure and passed every other check.

@pytest.mark.parametrize("kind, text", [
    ("marketing", "United Air Lines Inc., on March 1, 2013, was a seasoned and dedicated brand that will forever "
                  "be remembered for its ability to defy the odds. With 83.8% of its flights from New York arriving "
                  "on time, it's no surprise that the world was watching."),
    ("brief", 'The financial news story, "United Air Lines Inc. ran 83.8% of its flights on time on March 1, 2013," '
              "is a prime example of the meticulous and detailed reporting that is required to provide accurate and "
              "timely financial news."),
])
def test_a_draft_that_says_what_no_fact_states_fails(kind, text):
    _one_naming(_checks(kind, text, UNITED), "says what no fact states", "at most 2 allowed")


def test_a_word_in_another_script_fails_and_a_plain_paraphrase_passes():
    bad = ("The threeные New York airports handled 957 departures on February 22, 2013, and 78.7% of them left on "
           "time, while 17 flights were cancelled.")
    _one_naming(_checks("brief", bad, NEW_YORK), "'threeные'", "script")
    good = ("The three New York airports handled 957 departures on February 22, 2013, and 78.7% of them left on "
            "time. Another 17 flights were cancelled, and EWR was the most delayed airport of the day.")
    assert not _checks("brief", good, NEW_YORK), _checks("brief", good, NEW_YORK)


def test_a_headline_must_say_what_its_key_figure_is():
    bad = "United Air Lines Inc. on March 1, 2013, ran 83.8%"
    _one_naming(_checks("headline", bad, UNITED), "without saying what it is")
    assert not _checks("headline", "United Air Lines Inc. ran 83.8% on time on March 1, 2013", UNITED)


@pytest.mark.parametrize("headline", [
    "United Air Lines Inc. ran 83.8% on time on March 1, 2013, a significant news",  # SmolLM2, the demo night
    "United Air Lines Inc. ran 83.8% on time on March 1, 2013 to $",  # a figure cut off by the token limit
])
def test_demo_night_headlines_that_passed_now_fail(headline):
    assert _checks("headline", headline, UNITED)
