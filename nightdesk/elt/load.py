"""Extract one source for one logical date and load it into its raw table.

Every extracted row ends in the raw table or in ``quarantine``: both are filled in
scratch copies first and swapped in per partition at the end, so a rerun replaces the
date (never duplicates) and a failure half-way leaves the previous load untouched.
Every attempt, failed or not, is recorded in ``load_log``.

A due date that yields no rows is an empty day: the source's policy decides whether it
is loaded (status ``empty``, the date's partition emptied) or refused (status ``failed``,
the date's earlier rows kept), so a header-only file cannot wipe a day that had rows.
A date the source is not due on is recorded as ``skipped`` and loads nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

from nightdesk.warehouse.clickhouse import Warehouse
from nightdesk.sources.catalog import Source
from nightdesk.sources.schema import KeyTracker, SourceError, validate

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

    def as_dict(self) -> dict:
        return asdict(self)


class EmptyDayRefused(SourceError):
    """A due date yielded no rows and the source's policy does not allow that."""


def load_source(
    wh: Warehouse,
    source: Source,
    logical_date: dt.date,
    *,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Load ``source``'s rows for ``logical_date``; returns where every row went.

    :param progress: called with the number of rows of each chunk as it is loaded.
    """
    import pandas as pd

    report = LoadReport(source.name, logical_date.isoformat(), f"{source.name}-{logical_date:%Y%m%d}-{uuid.uuid4().hex[:12]}")
    started = pd.Timestamp.now(tz="UTC")
    meta = {"_batch_id": report.batch_id, "_logical_date": logical_date, "_source": source.name}
    try:
        with wh.scratch_table(source.table) as good_table, wh.scratch_table("quarantine") as bad_table:
            keys = KeyTracker()
            origin = source.reader.describe()  # named in reasons of rows that come without a file and line
            for chunk in source.reader.read(logical_date):
                checked = validate(chunk, source.schema, source=source.name,
                                   first_row=report.extracted + 1, keys=keys, origin=origin)
                now = pd.Timestamp.now(tz="UTC")
                report.extracted += len(chunk)
                report.loaded += wh.insert_df(good_table, checked.good.assign(**meta, _loaded_at=now))
                report.quarantined += wh.insert_df(bad_table, checked.bad.assign(**meta, _loaded_at=now))
                if progress:
                    progress(len(chunk))
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
            wh.swap_partition(source.table, f"'{logical_date.isoformat()}'", good_table)
            wh.swap_partition("quarantine", quarantine_partition, bad_table)
    except Exception as exc:
        _record(wh, source, report, started, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    _record(wh, source, report, started, status=report.status, error=report.note)
    if report.status == "empty":
        log.warning("%s for %s: %s", source.name, logical_date, report.note)
    log.info("loaded %s for %s: %d extracted, %d loaded, %d quarantined",
             source.name, logical_date, report.extracted, report.loaded, report.quarantined)
    return report


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
