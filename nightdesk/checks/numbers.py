"""Find the figures a draft states: numbers, percentages, money, scaled amounts, ranks.

Every mention records what kind of figure it is (only a percent fact may back "84%"),
the value as written, and the *precision the writing claims*: "83.8" claims tenths,
"84" whole units, "2.5 million" hundreds of thousands. The fact check then accepts a
mention exactly when the fact, rounded to that precision, reads the same, which is what
"a faithful rendering within display rounding" means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from nightdesk.checks.masking import Span, mask

MentionKind = Literal["plain", "percent", "currency", "foreign_currency", "points", "rank"]

_WORD_VALUES = {
    word: i
    for i, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_ORDINAL_WORDS = {
    word: i + 1
    for i, word in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
        "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split()
    )
}
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "b": 1e9,
           "bn": 1e9, "trillion": 1e12}
_MINUS = "-−–"
_WORD_ALTERNATION = "|".join(sorted(_WORD_VALUES, key=len, reverse=True))

_NUMBER = re.compile(
    rf"""
    (?<![\w.,$#])                                  # not the tail of a longer token
    (?P<sign>[-+−–])?
    (?:(?P<usd>US\$|\$|USD\s?)|(?P<fx>[€£¥]))?
    (?P<sign2>[-−])?
    (?:(?P<digits>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?!\d)(?!\.\d)(?!,\d{{3}})
      |(?P<words>(?:a|one)\s+dozen|{_WORD_ALTERNATION}))
    (?:(?P<abbr>bn|mn|[kmb])(?![a-z])|\s+(?P<scale>thousand|million|billion|trillion)(?![a-z]))?
    (?:\s?(?P<pct>%)
      |\s+(?P<pctw>percent|per\s+cent|pct)(?![a-z])
      |\s+(?P<pts>percentage\s+points?|points?|pts)(?![a-z])
      |\s+(?P<dollars>dollars?|USD)(?![a-z])
      |\s+(?P<cents>cents?)(?![a-z]))?
    (?![\w%])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_RANK = re.compile(
    rf"""(?<![\w.,$#])
    (?:(?P<digits>\d+)(?:st|nd|rd|th)
      |(?P<word>{"|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True))})
      |(?:\#|No\.\s?)(?P<num>\d+))
    (?!\w)""",
    re.VERBOSE | re.IGNORECASE,
)
_NEXT_WORD = re.compile(r"[\s-]*([A-Za-z]+)")


@dataclass(frozen=True)
class NumberMention:
    """One figure as written.

    :param value: the amount written, scale applied ("2.5 million" is 2500000.0); it is
        negative only when a minus sign is written ("fell 2.48%" is +2.48).
    :param precision: the step the writing resolves (0.1 for "83.8", 1e5 for "2.5 million").
    :param signed: a plus or minus sign is written.
    :param whole: a whole number without a scale word ("167", "nine"): what counts back.
    :param in_words: spelled out ("nine", "a dozen").
    :param next_word: the word right after, lower-cased ("" at the end): "minutes" in
        "9 minutes" ties the figure to facts in minutes.
    """

    text: str
    span: Span
    value: float
    kind: MentionKind
    precision: float
    signed: bool = False
    whole: bool = True
    in_words: bool = False
    next_word: str = ""

    @property
    def is_year_like(self) -> bool:
        """Four plain digits in the range of calendar years ("2013", not "2,013")."""
        return self.kind == "plain" and bool(re.fullmatch(r"\d{4}", self.text)) and 1800 <= self.value <= 2199


def find_numbers(text: str) -> list[NumberMention]:
    """Every figure in ``text`` (ranks first, so "1st" is a rank and not the number 1)."""
    ranks = [_rank(m, text) for m in _RANK.finditer(text)]
    rest = mask(text, (r.span for r in ranks))
    return sorted(ranks + [_number(m, rest) for m in _NUMBER.finditer(rest)], key=lambda n: n.span)


def _rank(match: re.Match[str], text: str) -> NumberMention:
    written = match["digits"] or match["num"]
    value = int(written) if written else _ORDINAL_WORDS[match["word"].lower()]
    return NumberMention(match.group(), match.span(), float(value), "rank", 1.0,
                         in_words=written is None, next_word=_next_word(text, match.end()))


def _number(match: re.Match[str], text: str) -> NumberMention:
    scale = _SCALES[(match["abbr"] or match["scale"] or "").lower()] if (match["abbr"] or match["scale"]) else 1.0
    if match["digits"]:
        digits = match["digits"].replace(",", "")
        decimals = len(digits.partition(".")[2])
        amount, step = float(digits), 10.0**-decimals
    else:
        words = match["words"].lower()
        amount, step, decimals = (12.0 if words.endswith("dozen") else float(_WORD_VALUES[words])), 1.0, 0
    if match["cents"]:
        scale /= 100
    negative = any(s and s in _MINUS for s in (match["sign"], match["sign2"]))
    kind: MentionKind = (
        "percent" if match["pct"] or match["pctw"]
        else "points" if match["pts"]
        else "currency" if match["usd"] or match["dollars"] or match["cents"]
        else "foreign_currency" if match["fx"]
        else "plain"
    )
    return NumberMention(
        text=match.group(), span=match.span(), value=(-amount if negative else amount) * scale, kind=kind,
        precision=step * scale, signed=bool(match["sign"] or match["sign2"]), whole=decimals == 0 and scale == 1.0,
        in_words=match["words"] is not None, next_word=_next_word(text, match.end()),
    )


def _next_word(text: str, end: int) -> str:
    found = _NEXT_WORD.match(text, end)
    return found.group(1).lower() if found else ""
