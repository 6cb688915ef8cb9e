"""Bad source input: every row lands in raw or quarantine, and a failed read loses nothing.

All offline: files in a temp dir, a real HTTP server on 127.0.0.1, a database port
nobody listens on. Every source here writes ``raw_stock_prices`` (or ``raw_flights``),
whose partitions are per logical date, so each test owns one date in June 2013.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from nightdesk.load import load_source
from nightdesk.sources import readers
from nightdesk.sources.catalog import FLIGHTS, STOCK_PRICES, Source
from nightdesk.sources.readers import FileReader, HttpJsonReader, SqlReader
from nightdesk.sources.schema import SourceError

HEADER = "ticker,trade_date,open,high,low,close,volume,adj_close"
# Retries in milliseconds, not seconds. A generous read timeout where the server answers
# (a loaded machine must not turn a slow answer into a retry); a short one only where the
# test makes the server hang, since those requests time out whatever the limit.
QUICK = {"timeout": (5.0, 5.0), "backoff": (0.001, 0.01)}
HANGING = {**QUICK, "timeout": (5.0, 0.2)}


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _file_source(name: str, path: Path) -> Source:
    return Source(name, "raw_stock_prices", STOCK_PRICES, FileReader(url=str(path), date_column="trade_date"))


def _counts(wh, source: str, day: dt.date) -> tuple[int, int]:
    """(rows in raw, rows in quarantine) for one source and date."""
    raw = wh.scalar("SELECT count() FROM raw_stock_prices WHERE _logical_date = {d:Date} AND _source = {s:String}",
                    {"d": day, "s": source})
    bad = wh.scalar("SELECT count() FROM quarantine WHERE _logical_date = {d:Date} AND _source = {s:String}",
                    {"d": day, "s": source})
    return int(raw), int(bad)


def _last_log(wh, source: str, day: dt.date) -> dict:
    df = wh.query_df(
        "SELECT * FROM load_log WHERE source = {s:String} AND logical_date = {d:Date} ORDER BY started_at DESC LIMIT 1",
        {"s": source, "d": day},
    )
    return df.iloc[0].to_dict()


def _reasons(wh, source: str, day: dt.date) -> dict[int, str]:
    rows = wh.query_rows("SELECT row_number, reason FROM quarantine WHERE _source = {s:String} "
                         "AND _logical_date = {d:Date} ORDER BY row_number", {"s": source, "d": day})
    return {int(n): r for n, r in rows}


# -- files -----------------------------------------------------------------------------

MIXED_ROWS = (                                    # line in the file (the header is line 1)
    "AAPL,{day},10,11,9,10.5,1000,10.5",          # 2 good
    "MSFT,{day},20,21,19,20.5,2000,",             # 3 good (adj_close may be empty)
    "IBM,{day},30,31,29,30.5,3000,30.5,oops",     # 4 one field too many
    "GOOG,{day},abc,41,39,40.5,4000,40.5",        # 5 wrong type
    "AMZN,{day},50,51,49,-5,5000,50.5",           # 6 out of range
    "AAPL,{day},10,11,9,10.7,1100,10.7",          # 7 duplicate key of line 2
    "ORCL,{day},,61,59,60.5,6000,60.5",           # 8 required value missing
    "CSCO,{day},70,71,69,70.5,7000,70.5",         # 9 good
    "INTC,{day},80,81",                           # 10 too few fields
)
MIXED_REASONS = {
    4: "row has 9 fields but the header has 8; extra values: oops",
    5: "open: expected float, got abc",
    6: "close: -5.0 is below 0",
    7: "duplicate primary key (ticker, trade_date) = (AAPL, {day})",
    8: "open: required value is missing",
    10: "close: required value is missing",
}


def _mixed_file(path: Path, day: dt.date) -> Path:
    return _csv(path, *(row.format(day=day) for row in MIXED_ROWS))


def test_malformed_csv_rows_are_quarantined_with_reasons(warehouse, tmp_path):
    day = dt.date(2013, 6, 3)
    source = _file_source("bad_stocks", _mixed_file(tmp_path / "mixed.csv", day))

    report = load_source(warehouse, source, day)

    assert (report.extracted, report.loaded, report.quarantined) == (9, 3, 6)
    assert _counts(warehouse, "bad_stocks", day) == (3, 6)
    tickers = warehouse.query_rows("SELECT ticker FROM raw_stock_prices WHERE _batch_id = {b:String} ORDER BY ticker",
                                   {"b": report.batch_id})
    assert [t for (t,) in tickers] == ["AAPL", "CSCO", "MSFT"]
    assert warehouse.scalar("SELECT close FROM raw_stock_prices WHERE _batch_id = {b:String} AND ticker = 'AAPL'",
                            {"b": report.batch_id}) == 10.5  # the first AAPL row wins, the later one is quarantined
    reasons = _reasons(warehouse, "bad_stocks", day)
    assert sorted(reasons) == sorted(MIXED_REASONS)
    for line, expected in MIXED_REASONS.items():
        assert reasons[line].startswith(f"{tmp_path / 'mixed.csv'} line {line}: "), reasons[line]
        assert expected.format(day=day) in reasons[line], (line, reasons[line])
    record = json.loads(warehouse.scalar(
        "SELECT record FROM quarantine WHERE _batch_id = {b:String} AND row_number = 5", {"b": report.batch_id}))
    assert record["ticker"] == "GOOG" and record["open"] == "abc"  # kept verbatim, not coerced
    logged = _last_log(warehouse, "bad_stocks", day)
    assert (logged["batch_id"], logged["status"], logged["extractor"]) == (report.batch_id, "ok", "file")
    assert (logged["rows_extracted"], logged["rows_loaded"], logged["rows_quarantined"]) == (9, 3, 6)


def test_rerun_replaces_the_date_without_duplicates(warehouse, tmp_path):
    day = dt.date(2013, 6, 18)
    source = _file_source("bad_stocks_rerun", _mixed_file(tmp_path / "mixed.csv", day))

    first = load_source(warehouse, source, day)
    second = load_source(warehouse, source, day)

    assert first.batch_id != second.batch_id
    assert _counts(warehouse, "bad_stocks_rerun", day) == (3, 6)
    for table in ("raw_stock_prices", "quarantine"):
        batches = warehouse.query_rows("SELECT DISTINCT _batch_id FROM {t:Identifier} WHERE _source = 'bad_stocks_rerun' "
                                       "AND _logical_date = {d:Date}", {"t": table, "d": day})
        assert batches == [(second.batch_id,)], table


def test_rows_with_many_extra_fields_after_the_first_chunk(warehouse, tmp_path, monkeypatch):
    """Two or more extra fields stop the fast parser mid-file; the re-read must not repeat rows."""
    day = dt.date(2013, 6, 4)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 3)
    rows = [f"T{i:02d},2013-06-04,1,2,1,1.5,{i},1.5" for i in range(1, 11)]
    rows[4] = "T05,2013-06-04,1,2,1,1.5,5,1.5,x,y,z"   # line 6, in the second chunk: 11 fields
    rows[8] = "T03,2013-06-04,1,2,1,1.5,9,1.5"         # line 10, third chunk: repeats T03's key
    source = _file_source("bad_stocks_chunks", _csv(tmp_path / "wide.csv", *rows))

    report = load_source(warehouse, source, day)

    assert (report.extracted, report.loaded, report.quarantined) == (10, 8, 2)
    reasons = _reasons(warehouse, "bad_stocks_chunks", day)
    assert sorted(reasons) == [6, 10]
    assert "wide.csv line 6: row has 11 fields but the header has 8; extra values: x,y,z" in reasons[6]
    assert "wide.csv line 10: duplicate primary key (ticker, trade_date) = (T03, 2013-06-04)" in reasons[10]
    volumes = warehouse.query_rows("SELECT volume FROM raw_stock_prices WHERE _batch_id = {b:String} ORDER BY volume",
                                   {"b": report.batch_id})
    assert [v for (v,) in volumes] == [1, 2, 3, 4, 6, 7, 8, 10]


def test_empty_file_fails_and_keeps_the_previous_load(warehouse, tmp_path):
    day = dt.date(2013, 6, 5)
    path = _csv(tmp_path / "prices.csv", "AAPL,2013-06-05,10,11,9,10.5,1000,10.5", "MSFT,2013-06-05,x,21,19,20.5,2000,")
    source = _file_source("bad_stocks_empty", path)
    load_source(warehouse, source, day)
    assert _counts(warehouse, "bad_stocks_empty", day) == (1, 1)

    path.write_bytes(b"")
    with pytest.raises(SourceError, match=f"file {path} is empty"):
        load_source(warehouse, source, day)

    assert _counts(warehouse, "bad_stocks_empty", day) == (1, 1)
    logged = _last_log(warehouse, "bad_stocks_empty", day)
    assert logged["status"] == "failed" and "is empty" in logged["error"] and str(path) in logged["error"]


def test_missing_file_is_a_clear_error(warehouse, tmp_path):
    day = dt.date(2013, 6, 6)
    path = tmp_path / "nowhere" / "prices.csv"

    with pytest.raises(SourceError, match=f"file {path} does not exist"):
        load_source(warehouse, _file_source("bad_stocks_missing", path), day)

    logged = _last_log(warehouse, "bad_stocks_missing", day)
    assert logged["status"] == "failed" and str(path) in logged["error"]
    assert (logged["rows_extracted"], logged["rows_loaded"]) == (0, 0)


# -- HTTP ------------------------------------------------------------------------------

@dataclass
class Endpoint:
    """One path of the test API: pages of records, served by ``?page=N`` or by next links."""

    pages: list[list[dict]] = field(default_factory=list)
    hang_first: int = 0   # this many requests are held unanswered until the test ends
    status: int = 200
    hits: int = 0
    seen: list[dict] = field(default_factory=list)  # query and Authorization of each request


@dataclass
class Api:
    base: str
    endpoints: dict[str, Endpoint]


@pytest.fixture
def api() -> Iterator[Api]:
    """A real JSON API on 127.0.0.1 (ephemeral port), one thread per request."""
    endpoints: dict[str, Endpoint] = {}
    release = threading.Event()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            endpoint = endpoints.get(url.path)
            if endpoint is None:
                return self._send(404, {"error": f"no such endpoint {url.path}"})
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with lock:
                endpoint.hits += 1
                hit = endpoint.hits
                endpoint.seen.append({**query, "authorization": self.headers.get("Authorization")})
            if hit <= endpoint.hang_first:
                release.wait()  # the client has long timed out; answer nothing
                return None
            if endpoint.status != 200:
                return self._send(endpoint.status, {"error": "refused", "echo": self.path})
            page = int(query.get("page", 1))
            items = endpoint.pages[page - 1] if page <= len(endpoint.pages) else []
            following = f"{url.path}?page={page + 1}" if page < len(endpoint.pages) else None
            return self._send(200, {"data": items, "links": {"next": following}})

        def _send(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Api(f"http://127.0.0.1:{server.server_address[1]}", endpoints)
    release.set()
    server.shutdown()
    server.server_close()


def _prices(day: dt.date, count: int, start: int = 0) -> list[dict]:
    return [{"ticker": f"T{i:02d}", "trade_date": day.isoformat(), "open": 10.0 + i, "high": 11.0 + i,
             "low": 9.0 + i, "close": 10.5 + i, "volume": 1000 * (i + 1), "adj_close": None}
            for i in range(start, start + count)]


def _http_source(name: str, reader: HttpJsonReader) -> Source:
    return Source(name, "raw_stock_prices", STOCK_PRICES, reader)


def test_http_page_numbers_assemble_every_page(warehouse, api):
    day = dt.date(2013, 6, 7)
    pages = [_prices(day, 5), _prices(day, 5, start=5), _prices(day, 2, start=10)]
    pages[1][3]["volume"] = "n/a"
    api.endpoints["/prices/2013-06-07"] = endpoint = Endpoint(pages)
    reader = HttpJsonReader(url=api.base + "/prices/{ds}", params={"as_of": "{ds}"}, page_param="page",
                            page_size_param="per_page", page_size=5, **QUICK)

    report = load_source(warehouse, _http_source("bad_stocks_http_pages", reader), day)

    assert (report.extracted, report.loaded, report.quarantined) == (12, 11, 1)
    assert [(q["page"], q["per_page"], q["as_of"]) for q in endpoint.seen] == [
        ("1", "5", "2013-06-07"), ("2", "5", "2013-06-07"), ("3", "5", "2013-06-07")]
    # An API has no lines: the row number is the record's ordinal in the extract, and the reason says so.
    assert _reasons(warehouse, "bad_stocks_http_pages", day) == {
        9: f"{api.base}/prices/{{ds}} row 9 of the extract: volume: expected int, got n/a"}
    logged = _last_log(warehouse, "bad_stocks_http_pages", day)
    assert (logged["extractor"], logged["status"], logged["rows_loaded"]) == ("http", "ok", 11)


def test_http_page_numbers_stop_on_an_empty_page(warehouse, api):
    day = dt.date(2013, 6, 8)
    api.endpoints["/full"] = endpoint = Endpoint([_prices(day, 3), _prices(day, 3, start=3)])
    reader = HttpJsonReader(url=api.base + "/full", page_param="page", page_size=3, **QUICK)

    report = load_source(warehouse, _http_source("bad_stocks_http_full", reader), day)

    assert (report.extracted, report.loaded, endpoint.hits) == (6, 6, 3)


def test_http_next_links_and_bearer_token(warehouse, api, monkeypatch):
    day = dt.date(2013, 6, 10)
    monkeypatch.setenv("BAD_STOCKS_TOKEN", "s3cr3t-token")
    api.endpoints["/linked"] = endpoint = Endpoint([_prices(day, 4), _prices(day, 4, start=4), _prices(day, 1, start=8)])
    reader = HttpJsonReader(url=api.base + "/linked", next_path="links.next", token_env="BAD_STOCKS_TOKEN", **QUICK)

    report = load_source(warehouse, _http_source("bad_stocks_http_links", reader), day)

    assert (report.extracted, report.loaded, endpoint.hits) == (9, 9, 3)
    assert [q.get("page") for q in endpoint.seen] == [None, "2", "3"]
    assert {q["authorization"] for q in endpoint.seen} == {"Bearer s3cr3t-token"}


def test_http_retries_timeouts_then_loads(warehouse, api):
    day = dt.date(2013, 6, 11)
    api.endpoints["/slow"] = endpoint = Endpoint([_prices(day, 3)], hang_first=2)
    reader = HttpJsonReader(url=api.base + "/slow", attempts=4, **HANGING)

    report = load_source(warehouse, _http_source("bad_stocks_http_slow", reader), day)

    assert (report.loaded, endpoint.hits) == (3, 3)


def test_http_gives_up_after_attempts_and_keeps_the_previous_load(warehouse, api):
    day = dt.date(2013, 6, 12)
    api.endpoints["/good"] = Endpoint([_prices(day, 4)])
    api.endpoints["/dead"] = dead = Endpoint([_prices(day, 4)], hang_first=10**6)
    load_source(warehouse, _http_source("bad_stocks_http_dead", HttpJsonReader(url=api.base + "/good", **QUICK)), day)
    assert _counts(warehouse, "bad_stocks_http_dead", day) == (4, 0)

    failing = _http_source("bad_stocks_http_dead", HttpJsonReader(url=api.base + "/dead", attempts=3, **HANGING))
    with pytest.raises(SourceError) as caught:
        load_source(warehouse, failing, day)

    assert str(caught.value) == f"GET {api.base}/dead: gave up after 3 attempts: read timed out after 0.2s"
    assert dead.hits == 3
    assert _counts(warehouse, "bad_stocks_http_dead", day) == (4, 0)
    logged = _last_log(warehouse, "bad_stocks_http_dead", day)
    assert logged["status"] == "failed" and "gave up after 3 attempts" in logged["error"]


def test_http_client_error_fails_at_once_with_credentials_masked(warehouse, api, monkeypatch):
    day = dt.date(2013, 6, 13)
    monkeypatch.setenv("BAD_STOCKS_TOKEN", "s3cr3t-token")
    api.endpoints["/forbidden"] = endpoint = Endpoint(status=403)
    host = api.base.removeprefix("http://")
    reader = HttpJsonReader(url=f"http://robot:hunter2@{host}/forbidden", params={"api_key": "k-123", "day": "{ds}"},
                            token_env="BAD_STOCKS_TOKEN", attempts=4, **QUICK)

    with pytest.raises(SourceError) as caught:
        load_source(warehouse, _http_source("bad_stocks_http_403", reader), day)

    message = str(caught.value)
    assert endpoint.hits == 1
    assert f"GET http://robot:***@{host}/forbidden?api_key=***&day=2013-06-13: HTTP 403 Forbidden" in message
    logged = _last_log(warehouse, "bad_stocks_http_403", day)
    for text in (message, logged["error"]):
        assert "hunter2" not in text and "k-123" not in text and "s3cr3t" not in text


def test_http_not_found_is_not_retried(warehouse, api):
    day = dt.date(2013, 6, 14)
    api.endpoints["/gone"] = endpoint = Endpoint(status=404)
    reader = HttpJsonReader(url=api.base + "/gone", attempts=4, **QUICK)

    with pytest.raises(SourceError, match=r"^GET http://127\.0\.0\.1:\d+/gone: HTTP 404 Not Found \(not retried"):
        load_source(warehouse, _http_source("bad_stocks_http_404", reader), day)

    assert endpoint.hits == 1


# -- database --------------------------------------------------------------------------

def test_unreachable_database_names_the_host_not_the_password(warehouse):
    day = dt.date(2013, 6, 17)
    reader = SqlReader(query="flights_for_date.sql", url="postgresql+psycopg2://nobody:pw-0451@127.0.0.1:1/none")

    with pytest.raises(SourceError) as caught:
        load_source(warehouse, Source("bad_flights_db", "raw_flights", FLIGHTS, reader), day)

    message = str(caught.value)
    assert "postgresql+psycopg2://nobody:***@127.0.0.1:1/none" in message and "unreachable" in message
    logged = _last_log(warehouse, "bad_flights_db", day)
    assert (logged["status"], logged["extractor"]) == ("failed", "sql")
    assert "127.0.0.1" in logged["error"]
    assert "pw-0451" not in message and "pw-0451" not in logged["error"]
