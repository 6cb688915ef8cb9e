"""Readers: each yields one logical date's source rows as pandas DataFrame chunks.

A reader knows how to reach one kind of system; which table, file or endpoint it reads
is configuration (see :mod:`nightdesk.sources.catalog`). Readers do no validation: the
loader validates every chunk against the source's declared schema.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from nightdesk.sources.schema import SourceError

if TYPE_CHECKING:
    import pandas as pd

QUERIES_DIR = Path(__file__).parent / "queries"

# 250k rows per chunk keeps a 10M-row load under ~1.5 GB peak (measured in
# benchmarks/load_throughput.py) while each insert stays large enough to be efficient.
CHUNK_ROWS = 250_000


class Reader(Protocol):
    kind: str

    def read(self, logical_date: dt.date) -> Iterator[pd.DataFrame]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class SqlReader:
    """Rows from a relational database through SQLAlchemy.

    :param query: name of a ``.sql`` file in ``nightdesk/sources/queries`` taking the
        bound parameter ``:logical_date`` (an ISO date string).
    :param url: SQLAlchemy URL; ``None`` reads ``NIGHTDESK_OPS_DB_URL`` when the read starts.
    """

    query: str
    url: str | None = None
    kind: str = "sql"

    def _url(self) -> str:
        from nightdesk.settings import get_settings

        return self.url or get_settings().ops_db_url

    def describe(self) -> str:
        from sqlalchemy.engine import make_url

        return f"{make_url(self._url()).render_as_string(hide_password=True)} ({self.query})"

    def read(self, logical_date: dt.date) -> Iterator[pd.DataFrame]:
        import pandas as pd
        import sqlalchemy as sa

        sql = sa.text((QUERIES_DIR / self.query).read_text())
        engine = sa.create_engine(self._url(), pool_pre_ping=True)
        try:
            with engine.connect() as conn:
                yield from pd.read_sql(sql, conn, params={"logical_date": logical_date.isoformat()},
                                       chunksize=CHUNK_ROWS)
        except sa.exc.OperationalError as exc:
            raise SourceError(f"database {self.describe()} is unreachable: {exc.orig}") from exc
        finally:
            engine.dispose()


@dataclass(frozen=True)
class FileReader:
    """Rows from a CSV or Parquet file at any fsspec URL.

    :param url: file URL; ``{ds}`` is replaced by the logical date (for one file per day),
        and ``pkgdata://package/path`` names a file shipped inside an installed package.
    :param format: ``csv`` or ``parquet``.
    :param rename: source column -> schema column.
    :param date_column: column (after renames) holding each row's date, used to keep the
        logical date's rows when the file holds many days. Rows whose date cannot be read
        are passed on (and so quarantined by the validator), never dropped.
    :param date_parts: alternatively, (year, month, day) columns.
    """

    url: str
    format: Literal["csv", "parquet"] = "csv"
    rename: Mapping[str, str] = field(default_factory=dict)
    date_column: str | None = None
    date_parts: tuple[str, str, str] | None = None
    kind: str = "file"

    def resolved_url(self, logical_date: dt.date) -> str:
        url = self.url.replace("{ds}", logical_date.isoformat())
        if url.startswith("pkgdata://"):
            package, _, rel = url.removeprefix("pkgdata://").partition("/")
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise SourceError(f"package {package!r} holding {url} is not installed")
            url = str(Path(next(iter(spec.submodule_search_locations))) / rel)
        return url

    def describe(self) -> str:
        return self.url

    def read(self, logical_date: dt.date) -> Iterator[pd.DataFrame]:
        import fsspec
        import pandas as pd

        url = self.resolved_url(logical_date)
        try:
            with fsspec.open(url, "rb", compression="infer") as handle:
                if self.format == "parquet":
                    chunks: Any = [pd.read_parquet(handle)]
                else:
                    chunks = pd.read_csv(handle, dtype=str, keep_default_na=False, na_values=["", "NA", "null"],
                                         chunksize=CHUNK_ROWS, on_bad_lines="error")
                for chunk in chunks:
                    chunk = chunk.rename(columns=dict(self.rename))
                    yield chunk[self._on_date(chunk, logical_date)]
        except FileNotFoundError as exc:
            raise SourceError(f"file {url} does not exist") from exc
        except pd.errors.EmptyDataError as exc:
            raise SourceError(f"file {url} is empty: expected a CSV with a header row") from exc
        except pd.errors.ParserError as exc:
            raise SourceError(f"file {url} is not valid CSV: {exc}") from exc

    def _on_date(self, chunk: pd.DataFrame, logical_date: dt.date) -> pd.Series:
        import pandas as pd

        if self.date_column:
            dates = pd.to_datetime(chunk[self.date_column], errors="coerce", format="ISO8601").dt.date
        elif self.date_parts:
            y, m, d = (pd.to_numeric(chunk[c], errors="coerce") for c in self.date_parts)
            dates = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": d}), errors="coerce").dt.date
        else:
            return pd.Series(True, index=chunk.index)
        return dates.isna() | (dates == logical_date)
