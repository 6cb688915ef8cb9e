"""Readers: each yields one logical date's source rows as pandas DataFrame chunks.

A reader knows how to reach one kind of system; which table, file or endpoint it reads
is configuration (see :mod:`nightdesk.sources.catalog`). Readers do no validation: the
loader validates every chunk against the source's declared schema.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nightdesk.sources import formats
from nightdesk.sources.schema import HIDDEN, PermanentSourceError, SourceError, shapeless

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

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

    :param query: a ``.sql`` file taking the bound parameter ``:logical_date`` (an ISO
        date string): a path (a source file's query beside it, resolved by the catalog)
        or the name of one shipped in ``nightdesk/sources/queries``.
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
    """Rows from a file (or every file a glob matches) at any fsspec URL.

    Each row's file and line travel with it (see :mod:`nightdesk.sources.formats`), so a
    quarantined row names both; an unreadable file fails naming the file and, for bytes
    that are not ``encoding`` or a truncated archive, the byte and the line.

    :param url: file URL or glob (``data/*.csv``, read in name order); ``{ds}`` is
        replaced by the logical date (for one file per day), and
        ``pkgdata://package/path`` names a file shipped inside an installed package.
    :param format: csv, tsv, parquet, jsonl, json, excel or stata; ``None`` infers it
        from the suffix (``.csv.gz`` is csv). ``.gz``, ``.bz2`` and ``.xz`` files are
        decompressed; a ``.zip`` archive's files are read in name order, each file's
        format inferred from its own name unless ``format`` says.
    :param encoding: of text formats (csv, tsv, jsonl, json).
    :param rename: source column -> schema column.
    :param date_column: column (after renames) holding each row's date, used to keep the
        logical date's rows when the file holds many days. Rows whose date cannot be read
        are passed on (and so quarantined by the validator), never dropped.
    :param date_parts: alternatively, (year, month, day) columns.
    :param read_options: passed to the format's parser (pandas ``read_csv`` options such
        as ``quotechar`` or ``na_values``; ``sheet_name`` and ``header`` for Excel;
        ``columns`` for Parquet; ``items_path`` for a JSON document whose records are not
        the top-level list). Options that decide what a row and its line are (``header``,
        ``skiprows``, ``chunksize`` for text) are the reader's and refused.
    """

    url: str
    _: KW_ONLY
    format: str | None = None
    encoding: str = "utf-8"
    rename: Mapping[str, str] = field(default_factory=dict)
    date_column: str | None = None
    date_parts: tuple[str, str, str] | None = None
    read_options: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "file"

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", self._validate_format())
        self._validate_encoding()
        self._validate_dates()
        if self.format:
            try:
                formats.validate_options(self.format, self.read_options)
            except ValueError as exc:
                raise ValueError(f"file source {self.url}: {exc}") from None
        elif self.read_options:
            raise ValueError(f"file source {self.url}: read_options need a format; set format")

    def _validate_format(self) -> str | None:
        if self.format is None:
            inferred = formats.infer(self.url)
            if inferred is None and not self.url.lower().endswith(formats.ARCHIVE):
                raise ValueError(f"file source {self.url}: cannot tell the format from the name; "
                                 f"set format to one of {', '.join(formats.FORMATS)}")
            return inferred
        if self.format not in formats.FORMATS:
            raise ValueError(f"file source {self.url}: format {self.format!r} is not one of "
                             f"{', '.join(formats.FORMATS)}")
        return self.format

    def _validate_encoding(self) -> None:
        import codecs

        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"file source {self.url}: unknown encoding {self.encoding!r}") from None

    def _validate_dates(self) -> None:
        if self.date_parts is not None:
            if len(self.date_parts) != 3:
                raise ValueError(f"file source {self.url}: date_parts must be (year, month, day) columns, "
                                 f"got {self.date_parts!r}")
            object.__setattr__(self, "date_parts", tuple(self.date_parts))
        if self.date_column and self.date_parts:
            raise ValueError(f"file source {self.url}: give date_column or date_parts, not both")

    def resolved_url(self, logical_date: dt.date) -> str:
        url = self.url.replace("{ds}", logical_date.isoformat())
        if url.startswith("pkgdata://"):
            package, _, rel = url.removeprefix("pkgdata://").partition("/")
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise PermanentSourceError(f"package {package!r} holding {url} is not installed")
            url = str(Path(next(iter(spec.submodule_search_locations))) / rel)
        return url

    def describe(self) -> str:
        return self.url

    def read(self, logical_date: dt.date) -> Iterator[pd.DataFrame]:
        url = self.resolved_url(logical_date)
        where, opener, fmt = url, None, self.format
        try:
            for where, opener, fmt in self.files(url):
                for chunk in formats.chunks(fmt, opener, where, encoding=self.encoding,
                                            options=self.read_options, rows=CHUNK_ROWS):
                    chunk = chunk.rename(columns=dict(self.rename))
                    yield chunk[self._on_date(chunk, logical_date, where)]
        except (OSError, ValueError, *formats.BROKEN) as exc:
            raise formats.failure(where, fmt, exc, opener, self.encoding) from exc

    def files(self, url: str) -> Iterator[tuple[str, formats.Opener, str]]:
        """(label, opener, format) of each file to read: the file, a glob's matches, an archive's members."""
        import fsspec

        if not _GLOB.search(url) or url.startswith(("http://", "https://")):
            yield from self._members(url)
            return
        matches = sorted(fsspec.open_files(url, "rb"), key=lambda f: f.path)
        if not matches:
            raise PermanentSourceError(f"no file matches {url}")
        for match in matches:
            local = "file" in (match.fs.protocol if isinstance(match.fs.protocol, tuple) else (match.fs.protocol,))
            yield from self._members(match.path if local else match.full_name)

    def _members(self, url: str) -> Iterator[tuple[str, formats.Opener, str]]:
        import functools
        import zipfile

        import fsspec

        if not url.lower().endswith(formats.ARCHIVE):
            yield url, functools.partial(fsspec.open, url, "rb", compression="infer"), self.format
            return
        with fsspec.open(url, "rb") as raw, zipfile.ZipFile(raw) as archive:
            names = sorted(n for n in archive.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/"))
            if not names:
                raise PermanentSourceError(f"archive {url} holds no file")
            for name in names:
                fmt = self.format or formats.infer(name)
                if fmt is None:
                    raise PermanentSourceError(f"archive {url}: cannot tell the format of {name} from its name; "
                                               f"set format to one of {', '.join(formats.FORMATS)}")
                yield f"{url} member {name}", functools.partial(archive.open, name), fmt

    def _on_date(self, chunk: pd.DataFrame, logical_date: dt.date, where: str) -> pd.Series:
        import pandas as pd

        needed = [self.date_column] if self.date_column else list(self.date_parts or ())
        missing = [c for c in needed if c not in chunk.columns]
        if missing and shapeless(chunk):
            return pd.Series(True, index=chunk.index)
        if missing:
            found = [c for c in chunk.columns if c not in HIDDEN]
            raise PermanentSourceError(f"file {where}: date columns {missing} are missing (found {found})")
        if self.date_column:
            dates = pd.to_datetime(chunk[self.date_column], errors="coerce", format="ISO8601").dt.date
        elif self.date_parts:
            y, m, d = (pd.to_numeric(chunk[c], errors="coerce") for c in self.date_parts)
            dates = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": d}), errors="coerce").dt.date
        else:
            return pd.Series(True, index=chunk.index)
        return dates.isna() | (dates == logical_date)


_GLOB = re.compile(r"[*?\[]")


class _Transient(Exception):
    """A failed HTTP attempt worth repeating: timeout, connection trouble, HTTP 429 or 5xx."""


@dataclass(frozen=True)
class HttpJsonReader:
    """Records from an HTTP JSON API, page by page, with timeouts and retries.

    Paging follows the API: by page number (``page_param``; the last page is the first
    one with fewer than ``page_size`` records, or none), by a next link in each page
    (``next_path``; the last page has none), or both (page parameters shape the first
    request, links lead on). Without either, one request is the whole extract.

    Timeouts, connection failures and HTTP 429/5xx are retried with exponential backoff;
    any other HTTP error fails at once (:class:`PermanentSourceError`: the task is not
    retried either), since asking again cannot help. Error messages
    name the request with credentials masked, and the token is only ever sent, never shown.

    :param url: endpoint; ``{ds}`` is replaced by the logical date.
    :param params: query parameters; ``{ds}`` in a value is replaced by the logical date.
    :param items_path: dotted key of the records list in each page (``None``: the page
        is the list).
    :param page_param: query parameter carrying the page number, from ``first_page``.
    :param page_size_param: query parameter carrying ``page_size``.
    :param next_path: dotted key of the next page's URL (absolute or relative).
    :param timeout: (connect, read) seconds per attempt.
    :param attempts: tries per request, the first included.
    :param backoff: (first wait, longest wait) in seconds between tries; doubles each time.
    :param token_env: environment variable holding a token sent as ``Bearer``, read when
        the read starts so a rotated secret needs no redeploy.
    :param max_pages: a server that never stops paging fails the load here.
    """

    url: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    items_path: str | None = "data"
    page_param: str | None = None
    page_size_param: str | None = None
    page_size: int | None = None
    first_page: int = 1
    next_path: str | None = None
    timeout: tuple[float, float] = (5.0, 30.0)
    attempts: int = 4
    backoff: tuple[float, float] = (1.0, 30.0)
    token_env: str | None = None
    max_pages: int = 10_000
    kind: str = "http"

    def describe(self) -> str:
        return _redact(self.url, ())

    def read(self, logical_date: dt.date) -> Iterator[pd.DataFrame]:
        import pandas as pd
        import requests

        token = self._token()
        secrets = (token,) if token else ()
        ds = logical_date.isoformat()
        params: dict[str, str | int] = {k: str(v).replace("{ds}", ds) for k, v in self.params.items()}
        if self.page_param:
            params[self.page_param] = self.first_page
        if self.page_size_param and self.page_size:
            params[self.page_size_param] = self.page_size
        request: tuple[str, dict[str, str | int]] | None = (self.url.replace("{ds}", ds), params)
        with requests.Session() as session:
            session.headers["Accept"] = "application/json"
            if token:
                session.headers["Authorization"] = f"Bearer {token}"
            pages = 0
            while request:
                where = _redact(requests.Request("GET", request[0], params=request[1]).prepare().url or "", secrets)
                if pages == self.max_pages:
                    raise SourceError(f"GET {where}: still paging after {self.max_pages} pages; "
                                      "is the API returning the same page again?")
                body = self._get(session, *request, where=where, secrets=secrets)
                items = self._items(body, where)
                pages += 1
                log.info("GET %s: %d records", where, len(items))
                if items:
                    yield pd.json_normalize(items)
                request = self._next(request, body, items, where)

    def _token(self) -> str | None:
        if not self.token_env:
            return None
        token = os.environ.get(self.token_env)
        if not token:
            raise SourceError(f"{self.describe()}: environment variable {self.token_env} (the API token) is not set")
        return token

    def _get(self, session: Any, url: str, params: Mapping[str, str | int], *, where: str,
             secrets: Iterable[str]) -> Any:
        import requests
        import tenacity

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff[0], max=self.backoff[1]),
            retry=tenacity.retry_if_exception_type(_Transient),
            before_sleep=lambda state: log.warning("GET %s: attempt %d of %d failed (%s); retrying", where,
                                                   state.attempt_number, self.attempts, state.outcome.exception()),
            reraise=True,
        )
        # "from None" throughout: requests' own messages carry the raw URL, token included.
        try:
            response = retrying(self._attempt, session, url, params)
        except _Transient as exc:
            raise SourceError(f"GET {where}: gave up after {self.attempts} attempts: {exc}") from None
        if response.status_code >= 400:
            body = _redact(" ".join(response.text.split())[:200], secrets)
            raise PermanentSourceError(f"GET {where}: HTTP {response.status_code} {response.reason}"
                              f" (not retried: the request itself was refused): {body}")
        try:
            return response.json()
        except requests.JSONDecodeError:
            raise SourceError(f"GET {where}: response is not JSON ({response.headers.get('Content-Type')}): "
                              f"{_redact(response.text[:80], secrets)!r}") from None

    def _attempt(self, session: Any, url: str, params: Mapping[str, str | int]) -> Any:
        import requests

        try:
            response = session.get(url, params=params, timeout=self.timeout)
        except requests.ConnectTimeout:
            raise _Transient(f"connection timed out after {self.timeout[0]:g}s") from None
        except requests.ReadTimeout:
            raise _Transient(f"read timed out after {self.timeout[1]:g}s") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else exc
            raise _Transient(f"connection failed: {_redact(str(reason), ())}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code} {response.reason}")
        return response

    def _items(self, body: Any, where: str) -> list[Any]:
        items = _dig(body, self.items_path) if self.items_path else body
        if not isinstance(items, list):
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise SourceError(f"GET {where}: expected a list of records at {self.items_path or 'the top level'!r}, "
                              f"found {type(items).__name__} (page keys: {keys})")
        return items

    def _next(self, request: tuple[str, dict[str, str | int]], body: Any, items: list[Any],
              where: str) -> tuple[str, dict[str, str | int]] | None:
        """The request for the page after ``body``, or ``None`` after the last page."""
        from urllib.parse import urljoin

        url, params = request
        if self.next_path:
            link = _dig(body, self.next_path)
            if link is None:
                return None
            if not isinstance(link, str):
                raise SourceError(f"GET {where}: next link at {self.next_path!r} is {type(link).__name__}, not a URL")
            return urljoin(url, link), {}  # the link carries its own query
        if self.page_param and items and not (self.page_size and len(items) < self.page_size):
            return url, {**params, self.page_param: int(params[self.page_param]) + 1}
        return None


def _dig(body: Any, path: str) -> Any:
    """``body["a"]["b"]`` for path ``a.b``; ``None`` where a key is absent."""
    for key in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


_USERINFO = re.compile(r"//([^/@:\s]*):[^/@\s]*@")
_USER_ONLY = re.compile(r"//[^/@:\s]+@")
_SECRET_PARAM = re.compile(
    r"(?i)([?&][^=&#\s]*(?:token|key|secret|passw|pwd|sig|auth|credential)[^=&#\s]*=)[^&#\s'\"]*")


def _redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with URL passwords, secret-looking query values and the given secrets masked."""
    for secret in secrets:
        text = text.replace(secret, "***")
    text = _USERINFO.sub(r"//\1:***@", text)
    text = _USER_ONLY.sub("//***@", text)
    return _SECRET_PARAM.sub(r"\1***", text)
