"""The analysts' commands behind ``nightdesk query``, ``nightdesk compare`` and ``nightdesk report``.

nightdesk/cli.py keeps only the parser lines and a one-line dispatch; arguments and
behaviour are here. Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from nightdesk.analytics.output import FORMATS

if TYPE_CHECKING:
    import pandas as pd

DateType = Callable[[str], dt.date]


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. start=2013-02-25)")
    return name, value


def _output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default="table", help="print a table, or write CSV / Parquet")
    p.add_argument("--output", type=Path, help="file to write (CSV without it goes to stdout)")
    p.add_argument("--limit", type=int, default=50, help="rows printed as a table (files get every row)")


def add_query_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sql", nargs="?", help="the SQL text (or use --file)")
    p.add_argument("--file", type=Path, help="read the SQL from this file, e.g. warehouse/sql/cookbook/01_*.sql")
    p.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                   help="bind {NAME:Type} in the SQL; repeatable")
    _output_arguments(p)


def add_compare_arguments(p: argparse.ArgumentParser, date: DateType) -> None:
    p.add_argument("--by", choices=("prompt", "model"), default="prompt",
                   help="compare two prompt versions or two model ids")
    p.add_argument("--a", required=True, help="variant A (a prompt_version or model_id)")
    p.add_argument("--b", required=True, help="variant B")
    p.add_argument("--start", type=date, required=True)
    p.add_argument("--end", type=date, required=True)
    _output_arguments(p)


def add_report_arguments(p: argparse.ArgumentParser, date: DateType) -> None:
    p.add_argument("--start", type=date, required=True)
    p.add_argument("--end", type=date, required=True)
    p.add_argument("--output", type=Path, help="HTML file to write (default <data_dir>/reports/report-START-END.html)")


def run_query(args: argparse.Namespace) -> int:
    from nightdesk.warehouse import clickhouse

    if (args.sql is None) == (args.file is None):
        print("give the SQL text or --file PATH (one of them)")
        return 2
    sql = args.file.read_text() if args.file else args.sql
    df = clickhouse.connect().query_df(sql, dict(args.param))
    return _emit(df, args)


def run_compare(args: argparse.Namespace) -> int:
    from nightdesk.analytics.compare import compare

    try:
        df = compare(args.by, args.a, args.b, args.start, args.end)
    except ValueError as exc:
        print(exc)
        return 2
    return _emit(df.astype(object).set_index("variant").T.reset_index(names="measure") if args.format == "table" else df, args)


def run_report(args: argparse.Namespace) -> int:
    from nightdesk.analytics import report
    from nightdesk.settings import get_settings

    output = args.output or get_settings().data_dir / "reports" / f"report-{args.start}-{args.end}.html"
    try:
        path = report.write(args.start, args.end, output)
    except ValueError as exc:
        print(exc)
        return 2
    print(f"report written to {path}")
    return 0


def _emit(df: pd.DataFrame, args: argparse.Namespace) -> int:
    from nightdesk.analytics.output import emit

    try:
        print(emit(df, args.format, args.output, limit=args.limit), flush=True)
    except ValueError as exc:
        print(exc)
        return 2
    return 0
