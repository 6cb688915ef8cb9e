"""Wrong figures that read right: a cold review's drafts that passed every check (December 2026).

Each draft below states a figure of its sheet with the wrong meaning, a date of another
day, a figure the checks could not read, a bound or a denial. Each must now fail the facts
check with the finding of its rule, and the draft written as the facts are must pass.
Sheets are those of ``test_checks_binding`` (the demo's values).
"""

from __future__ import annotations

import pytest

from nightdesk.checks import passed, run_text_checks
from nightdesk.checks.facts import check_facts
from test_checks_binding import AAPL, EWR, FB, NEW_YORK, UNITED, _sheet

# FB on the demo's February 28: too few earlier sessions for a 20-day volume average (n/a).
FB_NO_AVERAGE = _sheet("stock_movers", "2013-02-28", "FB", {
    "trade_date": "2013-02-28", "prev_trade_date": "2013-02-27", "ticker": "FB", "close": 27.25, "prev_close": 26.87,
    "change_pct": 1.41, "abs_change_pct": 1.41, "direction": "rose", "volume": 35_000_000, "volume_avg_days": 12})

WRONG = [
    # another fact's value stated as the share move
    (FB, "FB rose 23.9% on March 1, 2013 after a 1.94% gain", "is no direction of it"),
    (FB, "FB was up 23.9% on March 1, 2013, with 39,587,400 shares traded.", "reads as the story's main move"),
    (AAPL, "AAPL lost 11.7% on March 1, 2013, with 11,523,400 shares traded.", "is no direction of it"),
    # the nearest naming word says what a figure is
    (AAPL, "On March 1, 2013, AAPL turnover fell 2.48% as the stock slid.", "reads as shares traded vs"),
    (AAPL, "On March 1, 2013, AAPL closed at $430.47, its price 11.7% lower than the average.", "reads as change"),
    (UNITED, "United Air Lines Inc. cancelled 167 flights on March 1, 2013.", "reads as scheduled flights cancelled"),
    # SmolLM2, locked, February 28: the price's move stated as the volume's, whose average is n/a
    (FB_NO_AVERAGE, "FB rose 1.41% on February 28, 2013, with a 1.41% increase in its daily trading volume.",
     "reads as shares traded vs the average"),
    # SmolLM2, locked, March 1: the all-airlines rate stated as "the rate of scheduled flights"
    (UNITED, "On March 1, 2013, the rate of scheduled flights at United Air Lines Inc. was 80.2%.",
     "stands in a clause about scheduled flights"),
    (UNITED, "On March 1, 2013, 83.8% of them were cancelled at United Air Lines Inc.",
     "stands in a clause about scheduled flights cancelled"),
    (FB, "FB rose 1.94% on March 1, 2013, up 23.9% in 20 trading days.", "reads as the story's main move"),
    # two naming words as near, of two facts: which one it states is not said
    (AAPL, "AAPL's price closed 11.7% below average on March 1, 2013, at $430.47.", "by words as near"),
    # a date of another day, stated as the story's
    (AAPL, "AAPL shares fell 2.48% on February 28, 2013", "is prev_trade_date"),
    (AAPL, "AAPL shares fell 2.48% on Thursday", "is prev_trade_date"),
    (AAPL, "AAPL fell 2.48% on February 28, 2013 from its previous close of $441.40, ending at $430.47.",
     "the figure it dates, change_pct, is of the story's day"),
    # figures the checks cannot read, or read differently from a reader
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013, with 99.999.999 shares traded.", "unreadable figure '99.999.999'"),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013 to close at $430,99.", "unreadable figure '99'"),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013, volume down 99pct", "unreadable figure '99'"),
    (AAPL, "AAPL shares fell 2.\u09ea8% on March 1, 2013", "digits other than 0-9"),
    # a scale word on zero, a unit no fact is in
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013, closing at $0 thousand.", "unbacked figure '$0 thousand'"),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013, with 0 billion shares traded.", "unbacked figure '0 billion'"),
    (EWR, "On February 21, 2013, EWR departures averaged 15.2 minutes late with winds of 27.6 kph.",
     "no fact in kph"),
    # bounds and denials
    (AAPL, "AAPL shares fell more than 2.48% on March 1, 2013", "is above 2.48%, but it is -2.48%"),
    (UNITED, "On March 1, 2013, nearly 83.8% of United Air Lines Inc. flights were on time.",
     "is below 83.8%, but it is 83.8%"),
    (AAPL, "AAPL suffered more than a 2.48% drop on March 1, 2013.", "is above 2.48%"),
    (NEW_YORK, "On February 22, 2013, 957-plus departures left New York.", "is above 957"),
    (AAPL, "There was no 2.48% drop in AAPL shares on March 1, 2013.", "denies the"),
    (AAPL, "AAPL shares failed to fall 2.48% on March 1, 2013.", "denies the"),
    (AAPL, "AAPL shares didnt fall 2.48% on March 1, 2013.", "denies the"),
    (AAPL, "AAPL shares didn\u02bct fall 2.48% on March 1, 2013.", "denies the"),
    # number words the reader does not read, and "one" of a count
    (AAPL, "AAPL shares fell thirty percent on March 1, 2013, closing at $430.47.", "unreadable figure 'thirty'"),
    (NEW_YORK, "On February 22, 2013, half of the 957 departures from New York left on time.",
     "unreadable figure 'half'"),
    (FB, "FB shares rose 1.94% on March 1, 2013 on volume double its average.", "unreadable figure 'double'"),
    (NEW_YORK, "On February 22, 2013, only one of 957 departures from New York was cancelled, and 78.7% left on time.",
     "unbacked figure 'one'"),
    # a direction word across filler words
    (FB, "FB posted a gain of 23.9% on March 1, 2013, closing at $27.78.", "is no direction of it"),
    (FB, "FB rose by about 23.9% on March 1, 2013.", "is no direction of it"),
    (AAPL, "AAPL shares fell on March 1, 2013, a drop of 11.7%, to close at $430.47.", "is no direction of it"),
    (AAPL, "AAPL shares did not fall 2.48% on March 1, 2013", "denies the"),
    (AAPL, "AAPL shares never fell 2.48% on March 1, 2013", "denies the"),
    (UNITED, "On March 1, 2013, 83.8% of United Air Lines Inc. flights were not on time.", "denies the"),
    (AAPL, "AAPL shares didn't fall 2.48% on March 1, 2013", "denies the"),
    # a direction word the story lists now, against the sign
    (FB, "FB shares tanked 1.94% on March 1, 2013.", "went down"),
    # "to" and "from" after a move name its levels (levels: in story.yml)
    (AAPL, "AAPL fell 2.48% to $441.40 on March 1, 2013.", "reads as close ($430.47) but equals prev_close"),
    (AAPL, "AAPL fell 2.48% from $430.47 on March 1, 2013.", "but equals close ($430.47)"),
    (AAPL, "AAPL fell 2.48% from $430.47 to $441.40 on March 1, 2013.", "reads as close ($430.47)"),
    (AAPL, "AAPL shares dropped to about $441.40 on March 1, 2013.", "reads as close ($430.47)"),
    # a real entity of the sheet in another entity's role
    (NEW_YORK, "LGA was the most delayed airport on February 22, 2013, averaging 15.2 minutes.",
     "'LGA' at 0-3 is named by 'most delayed' (most_delayed_airport, EWR), but it is least_delayed_airport"),
    (NEW_YORK, "On February 22, 2013, LGA had the longest delays and EWR the shortest.",
     "'EWR' at 53-56 is named by 'shortest'"),
    (NEW_YORK, "EWR, the least delayed airport, averaged 15.2 minutes on February 22, 2013.", "but it is most_delayed"),
    (NEW_YORK, "The most delayed airport on February 22, 2013, was LGA.", "but it is least_delayed_airport"),
    (NEW_YORK, "LGA had the lightest traffic but the longest delays on February 22, 2013.", "named by 'longest'"),
    (NEW_YORK, "EWR was anything but the most delayed airport on February 22, 2013.", "'anything but' at 8-20 denies"),
    (AAPL, "AAPL fell 2.48%, to $441.40, on March 1, 2013.", "reads as close ($430.47)"),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013 and settled at $441.40.", "reads as close ($430.47)"),
    (FB, "FB shares rose 1.94% on March 1, 2013 to nearly $27.3.", "reads as close ($27.78)"),
    (UNITED, "United Air Lines Inc.'s 83.8% on-time rate on March 1, 2013 was topped by the 80.2% for all airlines.",
     "comparison 'topped' at 64-70 says on_time_pct (83.8%) is less than"),
    # regressions a review found in an earlier version of these rules
    (AAPL, "AAPL's volume of 11,523,400 was down 2.48% on March 1, 2013.", "reads as shares traded vs"),
    (FB, "FB shares rose 1.94% over 20 days to March 1, 2013.", "no fact in days"),
    (NEW_YORK, "On February 22, 2013, delays were worst at LGA, which averaged 15.2 minutes.",
     "but it is least_delayed_airport (LGA)"),
    # a qualifying fact named (qualifies: in story.yml): "on time" of all airlines is the overall rate
    (UNITED, "All airlines ran 83.8% on time on March 1, 2013.", "reads as all airlines' scheduled flights"),
    (UNITED, "On March 1, 2013, 83.8% of flights were on time across all airlines.", "but equals on_time_pct (83.8%)"),
    (NEW_YORK, "On February 22, 2013, EWR was not the most delayed airport.", "'not' at 30-33 denies the name"),
    (FB, "FB shares were far from rising 1.94% on March 1, 2013.", "'far from' at 15-23 denies the direction"),
    # comparisons by the facts' better way (better: in story.yml)
    (UNITED, "United Air Lines Inc. ran 83.8% of flights on time on March 1, 2013, trailing the 80.2% for all airlines.",
     "comparison 'trailing' at 69-77 says on_time_pct (83.8%) is less than overall_on_time_pct (80.2%)"),
    (UNITED, "United Air Lines Inc. ran 83.8% of flights on time on March 1, 2013, worse than the 80.2% for all airlines.",
     "is worse than"),
    (FB, "FB shares rose 1.94% on March 1, 2013, better than the 23.9% rise in volume above average.",
     "do not declare one better way"),
]

RIGHT = [
    (FB, "FB shares rose 1.94% on March 1, 2013 as volume ran 23.9% above its average."),
    (FB, "FB shares gained 1.94% on March 1, 2013, with volume 23.9% higher than average."),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013, and volume was 11.7% below its average."),
    (AAPL, "On March 1, 2013, AAPL fell 2.48% against a previous close of $441.40 on February 28, 2013."),
    (AAPL, "On March 1, 2013, AAPL shares slid 2.48%, a 2.48% drop from the prior close of $441.40."),
    (AAPL, "AAPL slipped 2.48% to $430.47 on March 1, 2013 from $441.40 on February 28, 2013."),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013; the previous session was February 28, 2013."),
    (AAPL, "AAPL fell 2.48% to $430.47 on March 1, 2013, with 11,523,400 traded."),
    (AAPL, "AAPL closed down 2.48% at $430.47 on March 1, 2013."),
    (AAPL, "AAPL shares fell about 2.5% on March 1, 2013."),
    (UNITED, "United Air Lines Inc. had 167 flights scheduled on March 1, 2013, and 83.8% of them arrived on time."),
    (UNITED, "On March 1, 2013, 83.8% of the 167 flights United Air Lines Inc. scheduled were punctual."),
    (UNITED, "United ran 83.8% of 167 flights on time on March 1, 2013."),
    (UNITED, "United Air Lines Inc. ran 83.8% of flights on time on March 1, 2013, above the 80.2% for all airlines."),
    (EWR, "Departures from EWR averaged 15.2 minutes late on February 21, 2013, with winds of 27.6 mph."),
    # bounds that hold, and negations that deny something else
    (FB, "Nearly 40 million FB shares changed hands on March 1, 2013 as the stock rose 1.94%."),
    (AAPL, "More than 11.5 million AAPL shares changed hands on March 1, 2013 as the stock fell 2.48%."),
    (UNITED, "On March 1, 2013, nearly 84% of United Air Lines Inc. flights were on time."),
    (EWR, "Departures from EWR averaged 15.2 minutes late on February 21, 2013, with winds of up to 27.6 mph."),
    (FB, "FB shares rose 1.94% on March 1, 2013, with volume 23.9% higher than its average over 20 trading days."),
    (EWR, "Departures from EWR averaged 15.2 minutes late on February 21, 2013 without any precipitation, "
          "and 14 flights were cancelled."),
    (FB, "FB shares were not the only gainers as they rose 1.94% on March 1, 2013."),
    (FB, "FB shares went up 1.94% on March 1, 2013, a significant gain."),
    (AAPL, "AAPL fell 2.48% on March 1, 2013, not only a drop but a 2.48% decline."),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013, with no less than 11.5 million shares traded."),
    (NEW_YORK, "On February 22, 2013, no fewer than 957 departures left New York and 78.7% left on time."),
    (UNITED, "United Air Lines Inc. ran 83.8% of flights on time on March 1, 2013, more than the 80.2% for all airlines."),
    (UNITED, "United Air Lines Inc. ran 83.8% of flights on time on March 1, 2013, better than 80.2% for all airlines."),
    (NEW_YORK, "New York had one of its busiest days on February 22, 2013 with 957 departures."),
    # direction words of a level, a comparison, or another fact named
    (FB, "FB gained 1.94% on March 1, 2013, closing at $27.78 up from $27.25."),
    (AAPL, "AAPL closed 2.48% below its previous close on March 1, 2013, at $430.47."),
    (FB, "FB shares rose 1.94% on March 1, 2013 as trading volume surged 23.9% above average."),
    (AAPL, "AAPL shares fell 2.48% on March 1, 2013 as volume dropped 11.7% below its average."),
    (FB, "FB posted a gain of 1.94% on March 1, 2013, closing at $27.78."),
    # the levels of a move, the roles of entities, comparisons that hold
    (AAPL, "AAPL fell 2.48% from $441.40 to $430.47 on March 1, 2013."),
    (AAPL, "AAPL fell to $430.47 from $441.40 on March 1, 2013."),
    (NEW_YORK, "On February 22, 2013, EWR had the longest delays, averaging 15.2 minutes, and LGA the shortest at "
               "0.9 minutes."),
    (NEW_YORK, "LGA, the least delayed airport, averaged 0.9 minutes on February 22, 2013."),
    (NEW_YORK, "On February 22, 2013, the worst delays were at EWR."),
    (UNITED, "United Air Lines Inc. ran 83.8% of flights on time on March 1, 2013, ahead of the 80.2% for all airlines."),
    (UNITED, "On March 1, 2013, the overall rate of 80.2% trailed the 83.8% of United Air Lines Inc. flights that were "
             "on time."),
    (UNITED, "On March 1, 2013, all airlines' 80.2% on-time rate trailed United Air Lines Inc.'s 83.8%."),
    (UNITED, "On March 1, 2013, 80.2% of flights were on time across all airlines, while United Air Lines Inc. ran 83.8%."),
    (NEW_YORK, "The most delayed airport on February 22, 2013 was EWR, where departures averaged 15.2 minutes late; "
               "the least delayed was LGA, at 0.9 minutes."),
    (FB, "FB closed at $27.78 on March 1, 2013, ahead of its previous close of $27.25."),
    (FB, "FB closed at $27.78 on March 1, 2013, not far from its previous close of $27.25."),
]


@pytest.mark.parametrize("sheet, text, rule", WRONG, ids=[t for _, t, _ in WRONG])
def test_a_figure_that_reads_wrong_fails_with_its_rule(sheet, text, rule):
    result = check_facts(text, sheet)
    messages = [f.message for f in result.details if f.severity == "fail"]
    assert not result.passed and any(rule in m for m in messages), messages


@pytest.mark.parametrize("sheet, text", RIGHT, ids=[t for _, t in RIGHT])
def test_the_same_facts_written_as_they_are_pass(sheet, text):
    result = check_facts(text, sheet)
    assert result.passed, result.details


def test_a_wrong_figure_fails_the_whole_run_of_checks_not_only_the_facts_check():
    """What editors see is the verdict of every check together: it must not say passed."""
    assert not passed(run_text_checks("headline", "FB rose 23.9% on March 1, 2013 after a 1.94% gain", FB))
    assert passed(run_text_checks("headline", "FB shares rose 1.94% on March 1, 2013", FB))
