"""Figure recount: every figure of every passing draft, recounted from the raw tables.

The fact check (``nightdesk.checks.facts``) proves that a draft's figures agree with its
fact sheet; it cannot prove the fact sheet agrees with the data, since the sheet comes
from the same marts and candidates queries. This benchmark closes that loop: for each
story type, ``benchmarks/sql/recount_<story_type>.sql`` recomputes the story's numeric
facts straight from ``raw_*`` tables, written from the facts' labels in ``story.yml``
without reading a mart or staging model. Each passing text draft (``checked_ok`` in
``drafts FINAL``) is bound again with :func:`nightdesk.checks.facts.bind`, and every
figure it states is classified against the recount:

* ``correct``: the recounted value, at the precision the figure is written with, reads
  as the figure (the same rule the fact check applies to the sheet: "83.8%" claims tenths);
* ``misbound``: it does not, but it reads as another recounted fact of the story: the
  figure is that fact's, written where the draft names a different one;
* ``wrong``: it reads as no recounted fact, or the raw tables have no value for it (a
  story the raw tables do not have at all counts every figure wrong);
* ``reversed``: a direction word bound to a signed fact ("fell") disagrees with the sign
  of the recounted value;
* ``unbacked``: a figure the binding left unbound (a passing draft should have none);
* ``not recounted``: bound to a fact the story type's SQL does not recompute (listed in
  the report's ``skipped``: dates, names and text facts, which are not figures).

    PYTHONPATH=. .venv/bin/python benchmarks/figure_recount.py                     # every date with drafts
    PYTHONPATH=. .venv/bin/python benchmarks/figure_recount.py --dates 2013-02-06,2013-02-07 --out /tmp/recount.json

Exit status 1 when any figure is misbound, wrong, reversed or unbacked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from nightdesk.checks.context import story_context
from nightdesk.checks.dates import find_dates
from nightdesk.checks.facts import bind
from nightdesk.checks.masking import find_spans, mask
from nightdesk.checks.numbers import NumberMention, find_numbers
from nightdesk.checks.wordlists import domain_list, phrase_pattern
from nightdesk.stories.catalog import TEXT_KINDS, Catalog, load_catalog
from nightdesk.stories.factsheet import Fact, FactSheet

SQL_DIR = Path(__file__).resolve().parent / "sql"
Verdict = Literal["correct", "misbound", "wrong", "reversed", "unbacked", "not recounted"]
VERDICTS: tuple[Verdict, ...] = ("correct", "misbound", "wrong", "reversed", "unbacked", "not recounted")
PROBLEMS: frozenset[Verdict] = frozenset({"misbound", "wrong", "reversed", "unbacked"})
Recount = Mapping[str, float | None]


@dataclass(frozen=True)
class FigureVerdict:
    """One figure (or direction word) of one draft and what the raw tables say about it."""

    draft_id: str
    story_id: str
    story_type: str
    kind: str
    written: str
    span: tuple[int, int]
    fact: str | None
    recounted: float | None
    verdict: Verdict
    text: str


@dataclass
class RecountReport:
    """Every verdict of a recount, and the facts its story types' SQL does not recompute."""

    dates: list[str]
    drafts: int = 0
    verdicts: list[FigureVerdict] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # story type -> facts not recounted

    @property
    def ok(self) -> bool:
        """No figure is misbound, wrong, reversed or unbacked."""
        return not self.problems()

    @property
    def figures(self) -> int:
        """Figures (and direction words) classified."""
        return len(self.verdicts)

    def problems(self) -> list[FigureVerdict]:
        return [v for v in self.verdicts if v.verdict in PROBLEMS]

    def counts(self) -> dict[tuple[str, str], Counter[str]]:
        """(story type, kind) -> verdict counts."""
        table: dict[tuple[str, str], Counter[str]] = {}
        for v in self.verdicts:
            table.setdefault((v.story_type, v.kind), Counter())[v.verdict] += 1
        return dict(sorted(table.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"dates": self.dates, "drafts": self.drafts, "figures": self.figures, "ok": self.ok,
                "counts": {f"{t}/{k}": dict(c) for (t, k), c in self.counts().items()},
                "skipped": self.skipped, "problems": [asdict(v) for v in self.problems()]}

    def table(self) -> str:
        """A plain-text table per story type and kind, then every problem with its draft."""
        rows = [("story type", "kind", *VERDICTS)]
        rows += [(t, k, *(str(c[v]) for v in VERDICTS)) for (t, k), c in self.counts().items()]
        total = Counter(v.verdict for v in self.verdicts)
        rows.append(("all", "", *(str(total[v]) for v in VERDICTS)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [f"recount of {self.figures} figures in {self.drafts} passing drafts ({', '.join(self.dates)})"]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
        lines += [f"not recounted ({t}): {', '.join(names)}" for t, names in sorted(self.skipped.items()) if names]
        for v in self.problems():
            lines.append(f"{v.verdict.upper()} {v.written!r} at {v.span[0]}-{v.span[1]} of {v.story_id} {v.kind}: "
                         f"bound to {v.fact or 'nothing'}, raw says {_show(v.recounted)}\n    {v.text}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Draft:
    """One text draft to recount: the fact sheet it was checked against, its kind and text."""

    draft_id: str
    sheet: FactSheet
    kind: str
    text: str


def recount(wh: Any, dates: Sequence[dt.date], *, catalog: Catalog | None = None) -> RecountReport:
    """Recount every figure of the passing text drafts of ``dates`` against the raw tables.

    :param wh: a :class:`nightdesk.warehouse.clickhouse.Warehouse`.
    :param catalog: the story types (their ``params:`` are bound into the recount SQL);
        the project's ``stories/`` by default.
    """
    rows = wh.query_rows(_sql("passing_drafts"), {"dates": list(dates), "kinds": list(TEXT_KINDS)})
    drafts = [Draft(draft_id, FactSheet.from_json(facts_json), kind, text)
              for _, draft_id, _, _, kind, text, facts_json in rows]
    return recount_drafts(wh, drafts, dates, catalog=catalog)


def recount_drafts(wh: Any, drafts: Iterable[Draft], dates: Sequence[dt.date], *,
                   catalog: Catalog | None = None) -> RecountReport:
    """Recount the figures of ``drafts`` (stored or in memory) against the raw tables of
    ``wh``; each story's facts are recounted once, however many drafts it has."""
    catalog = catalog or load_catalog()
    report = RecountReport(dates=[d.isoformat() for d in dates])
    recounts: dict[str, Recount] = {}
    for draft in drafts:
        sheet = draft.sheet
        if sheet.story_id not in recounts:
            recounts[sheet.story_id] = recount_facts(wh, sheet, catalog.story_types[sheet.story_type].params)
            report.skipped[sheet.story_type] = sorted(f.name for f in sheet.facts
                                                      if f.name not in recounts[sheet.story_id])
        report.drafts += 1
        report.verdicts += recount_draft(draft.text, sheet, recounts[sheet.story_id], kind=draft.kind,
                                         draft_id=draft.draft_id)
    return report


def recount_facts(wh: Any, sheet: FactSheet, params: Mapping[str, Any] | None = None) -> dict[str, float | None]:
    """The numeric facts of ``sheet``'s story recomputed from the raw tables: fact name ->
    value (None where the raw tables give none); facts the SQL does not recompute are absent.

    :param params: the story type's ``params:`` from story.yml (window sizes).
    """
    day = dt.date.fromisoformat(sheet.logical_date[:10])
    key = sheet.story_id.rsplit("/", 1)[-1]
    frame = wh.query_df(_sql(f"recount_{sheet.story_type}"), {**(params or {}), "day": day, "key": key})
    if frame.empty:  # the raw tables have no such story: nothing in it can be right
        return {f.name: None for f in sheet.facts if f.numeric}
    return {name: _number(value) for name, value in frame.iloc[0].items()}


def recount_draft(text: str, sheet: FactSheet, recounted: Recount, *, kind: str = "",
                  draft_id: str = "") -> list[FigureVerdict]:
    """Classify every figure and direction word of ``text`` against ``recounted`` values."""
    binding = bind(text, sheet)
    facts = {f.name: f for f in sheet.facts}
    figures = {b.span: b.fact for b in binding.bound if b.what == "figure"}
    verdicts = []

    def verdict(written: str, span: tuple[int, int], fact: str | None, value: float | None, said: Verdict) -> None:
        verdicts.append(FigureVerdict(draft_id, sheet.story_id, sheet.story_type, kind, written, span, fact, value,
                                      said, text))

    for mention in _figures(text, sheet, [b.span for b in binding.bound if b.what in ("date", "name")]):
        name = figures.get(mention.span)
        if name is None:
            verdict(mention.text, mention.span, None, None, "unbacked")
        elif name not in recounted:
            verdict(mention.text, mention.span, name, None, "not recounted")
        else:
            value = recounted[name]
            if _reads_as(mention, value):
                verdict(mention.text, mention.span, name, value, "correct")
            else:
                other = any(_reads_as(mention, v) for n, v in recounted.items() if n != name)
                verdict(mention.text, mention.span, name, value, "misbound" if other else "wrong")
    for b in binding.bound:
        if b.what == "direction":
            word, value = text[b.span[0]:b.span[1]], recounted.get(b.fact)
            if b.fact not in recounted:
                verdict(word, b.span, b.fact, None, "not recounted")
            elif value is None:
                verdict(word, b.span, b.fact, None, "wrong")
            else:
                verdict(word, b.span, b.fact, value, "correct" if _agrees(word, facts[b.fact], value) else "reversed")
    return verdicts


def _figures(text: str, sheet: FactSheet, taken: Sequence[tuple[int, int]]) -> list[NumberMention]:
    """The figures of ``text`` as the fact check reads them: the domain's standing phrases
    ("the three New York airports"), dates and bound names (whose digits are no figures)
    masked, and "one" as a pronoun ("one of the busiest") left out, since the check
    exempts it unless a fact's unit follows (then it is bound)."""
    standing = find_spans(phrase_pattern(domain_list(story_context(sheet).domain_dir, "allowed_phrases.txt")), text)
    work = mask(text, standing)
    work = mask(work, [*(d.span for d in find_dates(work)), *taken])
    return [m for m in find_numbers(work) if not (m.in_words and m.text.lower() == "one")]


def _reads_as(mention: NumberMention, value: float | None) -> bool:
    """Whether ``value``, at the precision ``mention`` is written with, reads as it; an
    unsigned figure states a size ("fell 2.48%"), a signed one its sign too."""
    if value is None:
        return False
    target = value if mention.signed else abs(value)
    return abs(mention.value - target) <= mention.precision / 2 + 1e-9 * max(1.0, abs(target))


def _agrees(word: str, fact: Fact, value: float) -> bool:
    """Whether a direction word of ``fact`` agrees with the sign of the recounted value."""
    positive = word.lower() in fact.directions.get("positive", ())
    return value > 0 if positive else value < 0


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN: the SQL's NULL through pandas


@lru_cache(maxsize=None)
def _sql(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        known = sorted(p.stem for p in SQL_DIR.glob("*.sql"))
        raise FileNotFoundError(f"{path}: no recount SQL for {name!r}; known: {known}")
    return path.read_text()


def _show(value: float | None) -> str:
    return "no value" if value is None else f"{value:,.6g}"


def _parse_dates(text: str) -> list[dt.date]:
    dates = []
    for column, part in _parts(text):
        try:
            dates.append(dt.date.fromisoformat(part))
        except ValueError:
            raise SystemExit(f"--dates: {part!r} at column {column} is not an ISO date (YYYY-MM-DD)") from None
    return dates


def _parts(text: str) -> list[tuple[int, str]]:
    parts, column = [], 1
    for part in text.split(","):
        if part.strip():
            parts.append((column + len(part) - len(part.lstrip()), part.strip()))
        column += len(part) + 1
    return parts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dates", type=_parse_dates,
                        help="comma-separated logical dates (default: every date with passing drafts)")
    parser.add_argument("--out", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)

    from nightdesk.warehouse import clickhouse

    wh = clickhouse.connect()
    dates = args.dates or [d for (d,) in wh.query_rows(_sql("passing_dates"), {"kinds": list(TEXT_KINDS)})]
    report = recount(wh, dates)
    print(report.table())
    if args.out:
        args.out.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
