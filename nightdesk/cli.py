"""``nightdesk``: the platform's command line.

    nightdesk init                      prepare the data directory, warehouse and Airflow
    nightdesk run --date 2013-03-01     ELT, then content, for one logical date
    nightdesk backfill --start D --end D [--with-content]
    nightdesk query "SELECT ..." | --file F.sql [--param k=v] [--format table|csv|parquet --output PATH]
    nightdesk compare --by prompt|model --a A --b B --start D --end D   variant A vs B
    nightdesk report --start D --end D [--output report.html]           offline HTML report with charts
    nightdesk status [--start D --end D]
    nightdesk demo                      init, ELT for the demo week, content for its last day
    nightdesk publish [--date D]        review trail to the warehouse; approved stories to the site
    nightdesk review serve [--port N]   the editors' review UI on its own (also mounted in Airflow)
    nightdesk review add-user NAME --role editor|admin [--password-stdin]
    nightdesk review reset-password NAME [--password-stdin] | disable-user NAME | enable-user NAME
    nightdesk review list-users | end-sessions NAME
    nightdesk check --story STORY_ID --kind KIND --text TEXT|-   a text against a stored story's facts
    nightdesk export preferences|sft --start D --end D [--out FILE]   editors' decisions as TRL training data

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
from collections.abc import Callable, Iterator
from pathlib import Path

from nightdesk.analytics import cli as analytics_cli
from nightdesk.settings import PROJECT_ROOT, WAREHOUSE_DIR, Settings, get_settings
from nightdesk.stories.catalog import TEXT_KINDS

#: The demo week: the last five trading days for which every demo source has data
#: (the stock prices end on 2013-03-01).
DEMO_START = dt.date(2013, 2, 25)
DEMO_END = dt.date(2013, 3, 1)
ELT = ("nightdesk_elt",)
ELT_AND_CONTENT = ("nightdesk_elt", "nightdesk_content")


def _configure_airflow_env() -> None:
    """Point Airflow at the project's DAGs and a home under the data dir, unless set."""
    data_dir = get_settings().data_dir
    os.environ.setdefault("AIRFLOW_HOME", str(data_dir / "airflow"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@contextlib.contextmanager
def logs_to(path: Path) -> Iterator[None]:
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


def _log_path(settings: Settings, command: str) -> Path:
    """This invocation's own log file: ``<data_dir>/logs/<command>-<timestamp>.log``."""
    return settings.data_dir / "logs" / f"{command}-{time.strftime('%Y%m%dT%H%M%S')}.log"


def _print(text: str = "") -> None:
    print(text, flush=True)


def cmd_init(args: argparse.Namespace) -> int:
    from nightdesk.warehouse import clickhouse, migrations
    from nightdesk.warehouse.prices import load_device_prices
    from nightdesk.sources import ops_db
    from nightdesk.airflow_setup import init_airflow

    settings = get_settings()
    _print(f"data directory: {settings.data_dir}")
    rows = ops_db.seed()
    _print(f"operational database ready: {rows:,} flights ({settings.ops_db_url.split('@')[-1]})")
    wh = clickhouse.connect()
    applied = migrations.migrate(wh)
    load_device_prices(wh)
    _print(f"warehouse {'server' if settings.clickhouse_url else 'chDB ' + str(settings.chdb_path)}: "
           f"{len(applied)} migration(s) applied")
    with logs_to(settings.data_dir / "logs" / "airflow-init.log"):
        init_airflow(warehouse_slots=args.warehouse_slots)
    _print(f"airflow metadata ready ({os.environ['AIRFLOW_HOME']}), pools: warehouse={args.warehouse_slots}, gpu=1")
    return 0


def _run_dates(dates: list[dt.date], dag_ids: tuple[str, ...]) -> int:
    from tqdm import tqdm

    from nightdesk.runner import run_dag

    settings = get_settings()
    log_path = _log_path(settings, "run")
    outcomes = []
    started = time.monotonic()
    with tqdm(total=len(dates) * len(dag_ids), unit="run", file=sys.stderr, dynamic_ncols=True) as bar:
        for day in dates:
            for dag_id in dag_ids:
                bar.set_description(f"{dag_id} {day}")
                with logs_to(log_path):
                    outcome = run_dag(dag_id, day)
                outcomes.append(outcome)
                bar.update(1)
                if not outcome.ok:
                    why = outcome.reason or f"tasks {', '.join(outcome.failed_tasks)}"
                    bar.write(f"FAILED {dag_id} {day}: {why}")
                    break
    failed = [o for o in outcomes if not o.ok]
    _print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} DAG runs succeeded in {time.monotonic() - started:.0f}s")
    _print_status(min(dates), max(dates))
    _print(f"\nlogs: {log_path}")
    _print(f"quality reports: {settings.data_dir / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}")
    _print(f"covers: {settings.media_url}")
    _print('explore: nightdesk query "SELECT * FROM mart_carrier_daily ORDER BY flight_date, flights DESC LIMIT 10"')
    return 1 if failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    return _run_dates([args.date], ELT if args.elt_only else ELT_AND_CONTENT)


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.end < args.start:
        _print(f"--end {args.end} is before --start {args.start}")
        return 2
    days = (args.end - args.start).days + 1
    dates = [args.start + dt.timedelta(days=i) for i in range(days)]
    return _run_dates(dates, ELT_AND_CONTENT if args.with_content else ELT)


def cmd_query(args: argparse.Namespace) -> int:
    return analytics_cli.run_query(args)


def cmd_compare(args: argparse.Namespace) -> int:
    return analytics_cli.run_compare(args)


def cmd_report(args: argparse.Namespace) -> int:
    return analytics_cli.run_report(args)


def cmd_ddl(args: argparse.Namespace) -> int:
    """Print every migration as it would run on the named topology (for review, or to
    apply by hand with clickhouse-client); nothing is connected to or changed."""
    from nightdesk.warehouse import migrations, topology

    shape = topology.Topology(args.cluster)
    for migration in migrations.discover():
        _print(f"-- {migration.path.name} (sha256 {migration.checksum[:12]} as shipped)")
        _print(topology.render(migration.sql, shape, source=migration.path.name))
    return 0


def _print_status(start: dt.date, end: dt.date) -> None:
    from nightdesk.warehouse import clickhouse

    wh = clickhouse.connect()
    params = {"start": start, "end": end}
    loads = wh.query_df((WAREHOUSE_DIR / "sql" / "status_loads.sql").read_text(), params)
    quality = wh.query_df((WAREHOUSE_DIR / "sql" / "status_quality.sql").read_text(), params)
    _print(f"\nloads {start} .. {end}:")
    if len(loads):  # an empty result has no columns at all
        _print(loads.drop(columns="last_error").to_string(index=False))
        # The note of a failed, skipped (not due) or empty (allowed no-rows) load.
        for _, row in loads[loads["last_error"] != ""].iterrows():
            _print(f"  {row['logical_date']:%Y-%m-%d} {row['source']} {row['status']}: {row['last_error']}")
    else:
        _print("  (none)")
    if len(quality):
        failed = quality[quality["passed"] == 0]
        _print(f"\nquality gates: {len(quality) - len(failed)} of {len(quality)} table-days passed")
        for _, row in failed.iterrows():
            _print(f"  FAILED {row['logical_date']:%Y-%m-%d} {row['table_name']}: {'; '.join(row['failed_expectations'])}")
    content = wh.query_df((WAREHOUSE_DIR / "sql" / "status_content.sql").read_text(), params)
    if len(content):
        _print("\ngenerations:")
        _print(content.to_string(index=False))
        last = content["logical_date"].max().date()
        headlines = wh.query_rows((WAREHOUSE_DIR / "sql" / "sample_headlines.sql").read_text(), {"d": last})
        _print(f"\nheadline drafts for {last} (checked; each waits for an editor in the review queue):")
        for story_id, generator, status, text in headlines:
            verdict = {"checked_ok": "passed", "checked_failed": "FAILED"}.get(status, status)
            _print(f"  {story_id} [{verdict}, {generator}]: {text}")


def cmd_status(args: argparse.Namespace) -> int:
    _print_status(args.start, args.end)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    code = cmd_init(argparse.Namespace(warehouse_slots=1))
    if code:
        return code
    _print(f"\nloading the demo week {DEMO_START} .. {DEMO_END}")
    code = cmd_backfill(argparse.Namespace(start=DEMO_START, end=DEMO_END - dt.timedelta(days=1), with_content=False))
    if code:
        return code
    _print(f"\nELT and content for {DEMO_END} (text model: {get_settings().text_model})")
    return cmd_run(argparse.Namespace(date=DEMO_END, elt_only=False))


def cmd_publish(args: argparse.Namespace) -> int:
    """Run the publish DAG: export the review trail, write the site, log what changed."""
    import pandas as pd

    from nightdesk.warehouse import clickhouse
    from nightdesk.runner import run_dag

    settings = get_settings()
    try:
        settings.site_base_url()  # checked here too, so the error reaches the terminal, not only the task log
    except ValueError as exc:
        _print(f"not published: {exc}")
        return 2
    log_path = _log_path(settings, "publish")
    started = pd.Timestamp.now(tz="UTC")
    with logs_to(log_path):
        outcome = run_dag("nightdesk_publish", args.date)
    if not outcome.ok:
        why = outcome.reason or f"tasks {', '.join(outcome.failed_tasks)}"
        _print(f"FAILED nightdesk_publish {args.date}: {why} (logs: {log_path})")
        return 1
    changes = clickhouse.connect().query_rows(
        (WAREHOUSE_DIR / "sql" / "publications_since.sql").read_text(), {"url": settings.output_url, "since": started})
    _print(f"published to {settings.output_url}: {len(changes)} change(s) of stories and newsletter/social issues")
    for action, story_id, _ in changes:
        _print(f"  {action:9} {story_id}")
    _print(f"feeds: {settings.output_url}/feed.json, {settings.output_url}/atom.xml; marketing lines: "
           f"{settings.output_url}/newsletter/DATE.html|.txt, {settings.output_url}/social/DATE.json\nlogs: {log_path}")
    return 0


def cmd_review_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nightdesk.review.web import create_app

    _print(f"review UI on http://{args.host}:{args.port}/ (add accounts with `nightdesk review add-user`)")
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Run the text checks on ``--text`` (``-``: stdin) against a stored story's fact sheet;
    print every check and finding. Exit 0 when the text passes and something in it was
    verified, 1 when a check fails or nothing was verified, 2 when the story is unknown."""
    from nightdesk import checks
    from nightdesk.warehouse import clickhouse
    from nightdesk.review.verdict import PASSED, verdict, verified_of, verified_summary
    from nightdesk.stories.factsheet import FactSheet

    text = sys.stdin.read() if args.text == "-" else args.text
    wh = clickhouse.connect()
    rows = wh.query_rows((WAREHOUSE_DIR / "sql" / "story_facts.sql").read_text(), {"story_id": args.story})
    if not rows:
        _print(f"no stored story {args.story!r} in the warehouse's stories table "
               "(ids look like stock_movers/2013-03-01/AAPL; `nightdesk query` lists them)")
        return 2
    sheet = FactSheet.from_json(rows[0][0])
    # The story's stored drafts of the other kinds, compared for repeats as the pipeline does.
    siblings = {kind: sibling for story_id, kind, sibling in wh.query_rows(
        (WAREHOUSE_DIR / "sql" / "story_texts.sql").read_text(), {"d": dt.date.fromisoformat(sheet.logical_date)})
        if story_id == args.story and kind != args.kind}
    results = [r.to_dict() for r in checks.run_text_checks(args.kind, text.strip(), sheet, siblings=siblings)]
    for result in results:
        _print(f"{'passed' if result['passed'] else 'FAILED':7} {result['name']}")
        for finding in result["findings"]:
            where = f" (chars {finding['span'][0]}-{finding['span'][1]})" if finding["span"] else ""
            _print(f"        {finding['severity']}: {finding['message']}{where}")
    verified = verified_of(results)
    outcome = verdict(args.kind, all(r["passed"] for r in results), verified)
    _print(f"verified: {verified_summary(args.kind, verified)}\nverdict: {outcome}")
    return 0 if outcome == PASSED else 1


def cmd_export(args: argparse.Namespace) -> int:
    from nightdesk.analytics.export_cli import cmd_export as export

    return export(args)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2013-03-01") from None


def _accounts(name: str) -> Callable[[argparse.Namespace], int]:
    """The review account command ``name`` (nightdesk/review/accounts_cli.py), imported when run."""
    def run(args: argparse.Namespace) -> int:
        from nightdesk.review import accounts_cli

        return getattr(accounts_cli, name)(args)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nightdesk", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init", help="prepare data dir, warehouse migrations, demo ops DB, Airflow DB and pools")
    p.add_argument("--warehouse-slots", type=int, default=1, help="slots of the warehouse pool: 1 for embedded chDB (with a ClickHouse server, warehouse tasks use default_pool)")
    p.set_defaults(fn=cmd_init)
    p = sub.add_parser("run", help="run ELT, then content, for one logical date")
    p.add_argument("--date", type=_date, default=DEMO_END)
    p.add_argument("--elt-only", action="store_true", help="load and transform only; no content")
    p.set_defaults(fn=cmd_run)
    p = sub.add_parser("backfill", help="run the pipeline for every date in a range (inclusive)")
    p.add_argument("--start", type=_date, required=True)
    p.add_argument("--end", type=_date, required=True)
    p.add_argument("--with-content", action="store_true", help="also run the content DAG for each date")
    p.set_defaults(fn=cmd_backfill)
    p = sub.add_parser("query", help="run a SQL query on the warehouse; print it or write CSV/Parquet")
    analytics_cli.add_query_arguments(p)
    p.set_defaults(fn=cmd_query)
    p = sub.add_parser("ddl", help="print the warehouse migrations rendered for one server or a cluster")
    p.add_argument("--cluster", default="", help="ClickHouse cluster name (or {cluster}); empty: one server")
    p.set_defaults(fn=cmd_ddl)
    p = sub.add_parser("compare", help="prompt version (or model) A vs B: acceptance, pass rate, latency, tokens")
    analytics_cli.add_compare_arguments(p, _date)
    p.set_defaults(fn=cmd_compare)
    p = sub.add_parser("report", help="write one offline HTML report with charts for a date range")
    analytics_cli.add_report_arguments(p, _date)
    p.set_defaults(fn=cmd_report)
    p = sub.add_parser("status", help="loads, quarantine and quality verdicts for a date range")
    p.add_argument("--start", type=_date, default=DEMO_START)
    p.add_argument("--end", type=_date, default=DEMO_END)
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("demo", help="init, then run the demo week end to end")
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("publish", help="export the review trail, publish approved stories, log the changes")
    p.add_argument("--date", type=_date, default=dt.datetime.now(dt.UTC).date(),
                   help="logical date of the run (labels it; the site always holds every approved story)")
    p.set_defaults(fn=cmd_publish)
    p = sub.add_parser("review", help="the editors' review UI and its accounts")
    review = p.add_subparsers(dest="review_command", required=True)
    r = review.add_parser("serve", help="serve the review UI alone (Airflow also mounts it at /nightdesk-review)")
    r.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 only behind HTTPS")
    r.add_argument("--port", type=int, default=8090)
    r.set_defaults(fn=cmd_review_serve)
    r = review.add_parser("add-user", help="create a review account (password prompted, or one line on stdin)")
    r.add_argument("name")
    r.add_argument("--role", choices=("editor", "admin"), default="editor")
    r.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    r.set_defaults(fn=_accounts("add_user"))
    r = review.add_parser("reset-password", help="set a new password (prompted, or one line on stdin); ends its sessions")
    r.add_argument("name")
    r.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    r.set_defaults(fn=_accounts("reset_password"))
    for command, what, function in (("disable-user", "stop an account logging in and end its sessions", "disable_user"),
                                    ("enable-user", "let a disabled account log in again", "enable_user"),
                                    ("end-sessions", "sign an account out everywhere (its cookies stop working)",
                                     "end_sessions")):
        r = review.add_parser(command, help=what)
        r.add_argument("name")
        r.set_defaults(fn=_accounts(function))
    r = review.add_parser("list-users", help="every review account: role, status, live sessions")
    r.set_defaults(fn=_accounts("list_users"))
    p = sub.add_parser("check", help="check a text against a stored story's facts; exit 1 unless it passes")
    p.add_argument("--story", required=True, help="story id, e.g. stock_movers/2013-03-01/AAPL")
    p.add_argument("--kind", required=True, choices=TEXT_KINDS)
    p.add_argument("--text", required=True, help="the text to check, or - to read it from stdin")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("export", help="editors' decisions as training data (docs/training-data.md)")
    export = p.add_subparsers(dest="export_command", required=True)
    for name, what in (("preferences", "DPO pairs, plus unpaired rejected texts beside them"),
                       ("sft", "approved texts for supervised fine-tuning")):
        e = export.add_parser(name, help=f"{what}, as TRL reads them (JSON lines)")
        e.add_argument("--start", type=_date, required=True)
        e.add_argument("--end", type=_date, required=True)
        e.add_argument("--out", type=Path, help="default <data_dir>/exports/<name>_<start>_<end>.jsonl")
        e.add_argument("--include-template-chosen", action="store_true",
                       help="also use approved, unedited template texts as chosen (flagged on each row)")
        e.set_defaults(fn=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_airflow_env()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
