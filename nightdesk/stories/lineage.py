"""Which loads a day's stories were built from: ``stories.load_ids``.

A story type's candidates query reads marts; the transform models' ``depends_on`` headers
say which raw tables each mart is built from, and each raw table's partition for the date
holds the rows of exactly one load (``_batch_id``, the ``load_log.batch_id``), since a load
replaces the partition whole. So the loads behind a story are read from the data itself,
not guessed from ``load_log``: a failed reload that kept the previous rows names the load
whose rows are really there. Earlier days a windowed query compares with are not listed.
"""

from __future__ import annotations

import datetime as dt
import re

from nightdesk.stories.catalog import Catalog
from nightdesk.warehouse.clickhouse import Warehouse


def load_ids_by_story_type(wh: Warehouse, catalog: Catalog, logical_date: dt.date) -> dict[str, list[str]]:
    """``story_type -> sorted load ids`` of the raw data behind the tables its candidates query reads."""
    from nightdesk.elt.transform import discover, raw_inputs
    from nightdesk.sources.catalog import load_sources

    inputs = dict(raw_inputs(discover()))
    inputs.update({s.table: frozenset({s.table}) for s in load_sources().values()})  # a query may read raw tables
    batches: dict[str, list[str]] = {}
    out = {}
    for name, story in catalog.story_types.items():
        read = [t for t in inputs if re.search(rf"\b{re.escape(t)}\b", story.candidates_sql)]
        raw = sorted(set().union(*(inputs[t] for t in read)))
        out[name] = sorted({b for table in raw for b in _batches(wh, table, logical_date, batches)})
    return out


def _batches(wh: Warehouse, table: str, logical_date: dt.date, cache: dict[str, list[str]]) -> list[str]:
    if table not in cache:
        cache[table] = [b for (b,) in wh.query_rows(
            "SELECT DISTINCT _batch_id FROM {t:Identifier} WHERE _logical_date = {d:Date}",
            {"t": table, "d": logical_date})]
    return cache[table]
