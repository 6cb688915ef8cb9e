"""``nightdesk``: the platform's command line.

    nightdesk init                      prepare the data directory, warehouse and Airflow
    nightdesk run --date 2013-03-01     run the pipeline for one logical date
    nightdesk backfill --start D --end D
    nightdesk query "SELECT ..."        query the warehouse
    nightdesk status [--start D --end D]
    nightdesk demo                      init, then backfill the demo week

Runs go through Airflow (``dag.test``): the DAGs, tasks and Asset events are the real
ones; their detailed logs go to ``<data_dir>/logs`` and the terminal gets progress and a
summary.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from nightdesk.settings import PROJECT_ROOT, WAREHOUSE_DIR, get_settings

#: The demo week: the last five trading days for which every demo source has data
#: (the stock prices end on 2013-03-01).
DEMO_START = dt.date(2013, 2, 25)
DEMO_END = dt.date(2013, 3, 1)
PIPELINE = ("nightdesk_elt",)


def _configure_airflow_env() -> None:
    """Point Airflow at the project's DAGs and a home under the data dir, unless set."""
    data_dir = get_settings().data_dir
    os.environ.setdefault("AIRFLOW_HOME", str(data_dir / "airflow"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@contextlib.contextmanager
def _logs_to(path: Path) -> Iterator[None]:
    """Send this process's stdout/stderr (Airflow's task logs included) to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _print(text: str = "") -> None:
    print(text, flush=True)


def cmd_init(args: argparse.Namespace) -> int:
    from nightdesk import clickhouse, migrations, ops_db
    from nightdesk.airflow_setup import init_airflow

    settings = get_settings()
    _print(f"data directory: {settings.data_dir}")
    rows = ops_db.seed()
    _print(f"operational database ready: {rows:,} flights ({settings.ops_db_url.split('@')[-1]})")
    applied = migrations.migrate(clickhouse.connect())
    _print(f"warehouse {'server' if settings.clickhouse_url else 'chDB ' + str(settings.chdb_path)}: "
           f"{len(applied)} migration(s) applied")
    with _logs_to(settings.data_dir / "logs" / "airflow-init.log"):
        init_airflow(warehouse_slots=args.warehouse_slots)
    _print(f"airflow metadata ready ({os.environ['AIRFLOW_HOME']}), pools: warehouse={args.warehouse_slots}, gpu=1")
    return 0


def _run_dates(dates: list[dt.date]) -> int:
    from tqdm import tqdm

    from nightdesk.runner import run_dag

    settings = get_settings()
    log_path = settings.data_dir / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    outcomes = []
    started = time.monotonic()
    with tqdm(total=len(dates) * len(PIPELINE), unit="run", file=sys.stderr, dynamic_ncols=True) as bar:
        for day in dates:
            for dag_id in PIPELINE:
                bar.set_description(f"{dag_id} {day}")
                with _logs_to(log_path):
                    outcome = run_dag(dag_id, day)
                outcomes.append(outcome)
                bar.update(1)
                if not outcome.ok:
                    bar.write(f"FAILED {dag_id} {day}: tasks {', '.join(outcome.failed_tasks)}")
                    break
    failed = [o for o in outcomes if not o.ok]
    _print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} DAG runs succeeded in {time.monotonic() - started:.0f}s")
    _print_status(min(dates), max(dates))
    _print(f"\nlogs: {log_path}")
    _print(f"quality reports: {settings.data_dir / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}")
    _print('explore: nightdesk query "SELECT * FROM mart_carrier_daily ORDER BY flight_date, flights DESC LIMIT 10"')
    return 1 if failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    return _run_dates([args.date])


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.end < args.start:
        _print(f"--end {args.end} is before --start {args.start}")
        return 2
    days = (args.end - args.start).days + 1
    return _run_dates([args.start + dt.timedelta(days=i) for i in range(days)])


def cmd_query(args: argparse.Namespace) -> int:
    import pandas as pd

    from nightdesk import clickhouse

    df = clickhouse.connect().query_df(args.sql)
    with pd.option_context("display.max_rows", args.limit, "display.max_columns", 50, "display.width", 200):
        _print(df.head(args.limit).to_string(index=False) if len(df) else "(no rows)")
    _print(f"({len(df)} rows)")
    return 0


def _print_status(start: dt.date, end: dt.date) -> None:
    from nightdesk import clickhouse

    wh = clickhouse.connect()
    params = {"start": start, "end": end}
    loads = wh.query_df((WAREHOUSE_DIR / "sql" / "status_loads.sql").read_text(), params)
    quality = wh.query_df((WAREHOUSE_DIR / "sql" / "status_quality.sql").read_text(), params)
    _print(f"\nloads {start} .. {end}:")
    _print(loads.drop(columns="last_error").to_string(index=False) if len(loads) else "  (none)")
    errors = loads[loads["last_error"] != ""]
    for _, row in errors.iterrows():
        _print(f"  {row['logical_date']:%Y-%m-%d} {row['source']}: {row['last_error']}")
    if len(quality):
        failed = quality[quality["passed"] == 0]
        _print(f"\nquality gates: {len(quality) - len(failed)} of {len(quality)} table-days passed")
        for _, row in failed.iterrows():
            _print(f"  FAILED {row['logical_date']:%Y-%m-%d} {row['table_name']}: {'; '.join(row['failed_expectations'])}")


def cmd_status(args: argparse.Namespace) -> int:
    _print_status(args.start, args.end)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    code = cmd_init(argparse.Namespace(warehouse_slots=1))
    if code:
        return code
    _print(f"\nrunning the pipeline for the demo week {DEMO_START} .. {DEMO_END}")
    return cmd_backfill(argparse.Namespace(start=DEMO_START, end=DEMO_END))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2013-03-01") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nightdesk", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init", help="prepare data dir, warehouse migrations, demo ops DB, Airflow DB and pools")
    p.add_argument("--warehouse-slots", type=int, default=1, help="1 for embedded chDB; more with a ClickHouse server")
    p.set_defaults(fn=cmd_init)
    p = sub.add_parser("run", help="run the pipeline for one logical date")
    p.add_argument("--date", type=_date, default=DEMO_END)
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("backfill", help="run the pipeline for every date in a range (inclusive)")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.set_defaults(fn=cmd_backfill)
    p = sub.add_parser("query", help="run a SQL query on the warehouse and print the result")
    p.add_argument("sql")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(fn=cmd_query)
    p = sub.add_parser("status", help="loads, quarantine and quality verdicts for a date range")
    p.add_argument("--start", type=_date, default=DEMO_START)
    p.add_argument("--end", type=_date, default=DEMO_END)
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("demo", help="init, then run the demo week end to end")
    p.set_defaults(fn=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_airflow_env()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
