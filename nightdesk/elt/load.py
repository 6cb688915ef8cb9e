"""Extract one source for one logical date and load it into its raw table.

Every extracted row ends in the raw table or in ``quarantine``: both are filled in
scratch copies first and swapped in per partition at the end, so a rerun replaces the
date (never duplicates) and a failure half-way leaves the previous load untouched.
Every attempt, failed or not, is recorded in ``load_log``.

A due date that yields no rows is an empty day: the source's policy decides whether it
is loaded (status ``empty``, the date's partition emptied) or refused (status ``failed``,
the date's earlier rows kept), so a header-only file cannot wipe a day that had rows.
A date the source is not due on is recorded as ``skipped`` and loads nothing.

A plain CSV/TSV file is first offered to a fast path that loads a clean file without
per-row work in Python: the engine itself (:mod:`nightdesk.elt.engine_csv`) for a local
file on the embedded warehouse, else Arrow (:mod:`nightdesk.sources.arrow_csv`). At its
first doubt the scratch table is emptied and the file is read again through the careful
path (:func:`~nightdesk.sources.schema.validate`), which alone decides what is
quarantined and why. ``LoadReport.path`` says which path loaded the rows and
``LoadReport.seconds`` where the time went.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nightdesk.elt import engine_csv
from nightdesk.sources import arrow_csv
from nightdesk.sources.catalog import Source
from nightdesk.sources.readers import CHUNK_ROWS
from nightdesk.sources.schema import KeyTracker, SourceError, validate
from nightdesk.warehouse.clickhouse import Warehouse

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    source: str
    logical_date: str
    batch_id: str
    extracted: int = 0
    loaded: int = 0
    quarantined: int = 0
    status: str = "ok"
    note: str = ""
    #: ``engine`` or ``arrow`` (a fast path loaded a clean file), or ``careful`` (per-row validation).
    path: str = "careful"
    #: why the fast path handed over to the careful one, when it did.
    handed_over: str = ""
    #: seconds per stage: ``read``, ``validate``, ``insert`` (careful path), ``read_validate``
    #: and ``insert`` (Arrow), ``engine`` (the engine's single statement), ``swap``.
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started


class EmptyDayRefused(SourceError):
    """A due date yielded no rows and the source's policy does not allow that."""


#: The fast paths, in the order they are offered a file.
FAST_PATHS = ("engine", "arrow")


def load_source(wh: Warehouse, source: Source, logical_date: dt.date, *,
                fast_paths: tuple[str, ...] = FAST_PATHS) -> LoadReport:
    """Load ``source``'s rows for ``logical_date``; returns where every row went.

    :param fast_paths: the fast paths a file may take (benchmarks and tests compare them
        by narrowing this); ``()`` always reads through the careful path.
    """
    import pandas as pd

    report = LoadReport(source.name, logical_date.isoformat(), f"{source.name}-{logical_date:%Y%m%d}-{uuid.uuid4().hex[:12]}")
    started = pd.Timestamp.now(tz="UTC")
    meta = {"_batch_id": report.batch_id, "_logical_date": logical_date, "_source": source.name}
    try:
        with wh.scratch_table(source.table) as good_table, wh.scratch_table("quarantine") as bad_table:
            if not _load_clean(wh, source, logical_date, report, good_table, meta, fast_paths):
                _load_careful(wh, source, logical_date, report, good_table, bad_table, meta)
            quarantine_partition = f"tuple('{source.name}', '{logical_date.isoformat()}')"
            if report.loaded == 0:
                # No usable rows: none read, or every one quarantined (a hostile file). Either
                # way the day would be emptied, which only the source's policy may allow.
                allowed, why = source.when_empty.verdict(logical_date, source.calendar)
                if not allowed:
                    if report.quarantined:  # the refused rows stay findable, with their reasons
                        wh.swap_partition("quarantine", quarantine_partition, bad_table)
                    raise EmptyDayRefused(
                        f"source {source.name!r}: {why}" + (f" ({report.quarantined} rows read, all quarantined)"
                                                            if report.quarantined else "")
                        + "; the date's earlier rows are kept")
                report.status, report.note = "empty", why
            with report.timed("swap"):
                wh.swap_partition(source.table, f"'{logical_date.isoformat()}'", good_table)
                wh.swap_partition("quarantine", quarantine_partition, bad_table)
    except Exception as exc:
        _record(wh, source, report, started, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    _record(wh, source, report, started, status=report.status, error=report.note)
    if report.status == "empty":
        log.warning("%s for %s: %s", source.name, logical_date, report.note)
    log.info("loaded %s for %s through the %s path: %d extracted, %d loaded, %d quarantined (%s)",
             source.name, logical_date, report.path, report.extracted, report.loaded, report.quarantined,
             ", ".join(f"{stage} {s:.2f} s" for stage, s in report.seconds.items()))
    return report


def _load_clean(wh: Warehouse, source: Source, logical_date: dt.date, report: LoadReport,
                good_table: str, meta: dict[str, Any], fast_paths: tuple[str, ...]) -> bool:
    """Load a clean file through a fast path; ``False`` (scratch table emptied, counts
    reset) when the file is not one a fast path may take or holds anything in doubt."""
    unknown = set(fast_paths) - set(FAST_PATHS)
    if unknown:
        raise ValueError(f"unknown fast paths {sorted(unknown)}: use {', '.join(FAST_PATHS)}")
    local = (engine_csv.applicable(wh, source.reader, source.schema, logical_date)
             if "engine" in fast_paths else None)
    if local is None and not ("arrow" in fast_paths and arrow_csv.applicable(source.reader, source.schema)):
        return False
    try:
        if local is not None:
            with report.timed("engine"):
                report.loaded = engine_csv.load(wh, source.reader, source.schema, logical_date, local,
                                                good_table, meta)
            report.path = "engine"
        else:
            _load_arrow(wh, source, logical_date, report, good_table, meta)
            report.path = "arrow"
    except arrow_csv.NotClean as doubt:
        log.info("%s for %s: %s; reading it through the careful path", source.name, logical_date, doubt)
        report.handed_over, report.loaded = str(doubt), 0
        wh.command(f"TRUNCATE TABLE {good_table}")
        return False
    report.extracted = report.loaded
    return True


def _load_arrow(wh: Warehouse, source: Source, logical_date: dt.date, report: LoadReport,
                good_table: str, meta: dict[str, Any]) -> None:
    tables = arrow_csv.clean_tables(source.reader, source.schema, logical_date, rows=CHUNK_ROWS,
                                    keys=KeyTracker())
    while True:
        with report.timed("read_validate"):
            table = next(tables, None)
        if table is None:
            return
        with report.timed("insert"):
            report.loaded += wh.insert_arrow(good_table, _with_meta(table, meta))


def _load_careful(wh: Warehouse, source: Source, logical_date: dt.date, report: LoadReport,
                  good_table: str, bad_table: str, meta: dict[str, Any]) -> None:
    """Validate every row: good ones to the scratch table, the rest to the quarantine's."""
    import pandas as pd

    keys = KeyTracker()
    origin = source.reader.describe()  # named in reasons of rows that come without a file and line
    chunks = source.reader.read(logical_date)
    while True:
        with report.timed("read"):
            chunk = next(chunks, None)
        if chunk is None:
            return
        with report.timed("validate"):
            checked = validate(chunk, source.schema, source=source.name,
                               first_row=report.extracted + 1, keys=keys, origin=origin)
        now = pd.Timestamp.now(tz="UTC")
        report.extracted += len(chunk)
        with report.timed("insert"):
            report.loaded += wh.insert_df(good_table, checked.good.assign(**meta, _loaded_at=now))
            report.quarantined += wh.insert_df(bad_table, checked.bad.assign(**meta, _loaded_at=now))


def _with_meta(table: pa.Table, meta: dict[str, Any]) -> pa.Table:
    """``table`` with the load's columns, built as constant arrays (no per-row Python)."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    zeros = pa.array(np.zeros(n, dtype="int32"))
    now_ms = int(time.time() * 1000)
    days = (meta["_logical_date"] - dt.date(1970, 1, 1)).days
    return (table
            .append_column("_batch_id", pa.DictionaryArray.from_arrays(zeros, pa.array([meta["_batch_id"]])))
            .append_column("_logical_date", pa.array(np.full(n, days, dtype="int32"), pa.date32()))
            .append_column("_source", pa.DictionaryArray.from_arrays(zeros, pa.array([meta["_source"]])))
            .append_column("_loaded_at", pa.array(np.full(n, now_ms, dtype="int64"), pa.timestamp("ms", "UTC"))))


def record_skip(wh: Warehouse, source: Source, logical_date: dt.date, reason: str) -> LoadReport:
    """Record that ``source`` is not due on ``logical_date`` (nothing is read or replaced)."""
    import pandas as pd

    report = LoadReport(source.name, logical_date.isoformat(), f"{source.name}-{logical_date:%Y%m%d}-skipped",
                        status="skipped", note=reason)
    now = pd.Timestamp.now(tz="UTC")
    _record(wh, source, report, now, status="skipped", error=reason)
    return report


def _record(wh: Warehouse, source: Source, report: LoadReport, started, *, status: str, error: str) -> None:
    import pandas as pd

    wh.insert_df("load_log", pd.DataFrame([{
        "batch_id": report.batch_id,
        "source": source.name,
        "extractor": source.reader.kind,
        "logical_date": dt.date.fromisoformat(report.logical_date),
        "rows_extracted": report.extracted,
        "rows_loaded": report.loaded,
        "rows_quarantined": report.quarantined,
        "status": status,
        "error": error[:2000],
        "started_at": started,
        "finished_at": pd.Timestamp.now(tz="UTC"),
    }]))
