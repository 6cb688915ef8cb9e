"""What reaches the editors after a whole night: free versus fact-locked decoding.

``draft_quality.py`` measures first attempts; this runs the nightly path itself. The
warehouse is built once (ELT through Airflow for the dates and the week before them, so
the anomaly story has its history), copied once per decoding, and the content DAG runs
through Airflow (``dag.test``) for every date with the configured model: generation,
checks, regeneration (up to three model attempts), template fallback, enqueue. Then, per
decoding, side by side:

* drafts that reach the queue passing, and how many of those the model wrote (the rest
  are template fallbacks after three failed model attempts);
* the recount of every figure of every passing draft against the raw tables
  (``figure_recount.py``): wrong, reversed and unbacked must all be zero;
* the content DAG's wall time per night.

Every step runs in its own process (chDB serves one data directory per process).

    .venv/bin/python benchmarks/night_quality.py                       # smollm2, 2013-02-28 and 2013-03-01
    .venv/bin/python benchmarks/night_quality.py --dates 2013-03-01 --decoding free,locked --out /tmp/night.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Days of ELT before the first date: the anomaly story needs 5 of the previous 7 days.
HISTORY_DAYS = 7


def main() -> int:
    args = _parse_args()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="nightdesk-night-quality-")).resolve()
    base = work / "base"
    if not (base / "elt-done").exists():
        started = time.perf_counter()
        first, last = min(args.dates), max(args.dates)
        _nightdesk(base, ["init"])
        _nightdesk(base, ["backfill", "--start", str(first - dt.timedelta(days=HISTORY_DAYS)), "--end", str(last)])
        (base / "elt-done").write_text(f"{time.perf_counter() - started:.0f} s")
    print(f"warehouse built in {(base / 'elt-done').read_text()} ({base})", flush=True)

    report: dict = {"model": args.model, "dates": [d.isoformat() for d in args.dates], "decodings": {}}
    for decoding in args.decoding:
        run = work / decoding
        if run.exists():
            shutil.rmtree(run)
        # chDB links its tables to their store with relative symlinks: copy them as links.
        shutil.copytree(base / "data", run / "data", symlinks=True, ignore=shutil.ignore_patterns("airflow"))
        _nightdesk(run, ["init"])  # a fresh Airflow metadata DB; the warehouse is already migrated
        env = {"NIGHTDESK_TEXT_MODEL": args.model, "NIGHTDESK_TEXT_DECODING": decoding}
        seconds = {}
        for day in args.dates:
            started = time.perf_counter()
            _python(run, f"from nightdesk.runner import run_dag; import sys; "
                         f"sys.exit(0 if run_dag('nightdesk_content', __import__('datetime').date.fromisoformat('{day}')).ok else 1)",
                    env)
            seconds[day.isoformat()] = round(time.perf_counter() - started, 1)
        out = run / "outcome.json"
        _python(run, f"import runpy, sys; sys.argv = ['x', {str(out)!r}, {','.join(map(str, args.dates))!r}]; "
                     f"runpy.run_path({str(Path(__file__))!r}, run_name='outcome')", env)
        outcome = json.loads(out.read_text())
        outcome["content_seconds"] = seconds
        report["decodings"][decoding] = outcome
        _print_outcome(decoding, outcome)
    _print_side_by_side(report["decodings"])
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1, ensure_ascii=False))
        print(f"\nwrote {args.out}")
    return 0


def outcome(out: Path, dates: list[dt.date]) -> None:
    """In the run's own process: the queue's passing drafts by writer, and the recount."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from figure_recount import recount

    from nightdesk.warehouse import clickhouse

    wh = clickhouse.connect()
    rows = wh.query_rows((Path(__file__).resolve().parent / "sql" / "night_drafts.sql").read_text(), {"ds": dates})
    by_writer: dict[str, dict[str, int]] = {}
    for kind, writer, fallback, status, n in rows:
        label = "template fallback" if fallback else writer
        counts = by_writer.setdefault(label, {"drafts": 0, "passing": 0})
        counts["drafts"] += int(n)
        counts["passing"] += int(n) if status == "checked_ok" else 0
    counted = recount(wh, dates)
    out.write_text(json.dumps({"by_writer": by_writer, "recount": counted.to_dict(),
                               "recount_ok": counted.ok}, default=str))


def _nightdesk(home: Path, argv: list[str]) -> None:
    _run([str(ROOT / ".venv" / "bin" / "nightdesk"), *argv], home, {})


def _python(home: Path, code: str, env: dict[str, str]) -> None:
    _run([sys.executable, "-c", code], home, env)


def _run(command: list[str], home: Path, env: dict[str, str]) -> None:
    environ = {**os.environ, "NIGHTDESK_DATA_DIR": str(home / "data"), "AIRFLOW_HOME": str(home / "data" / "airflow"),
               "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **env}
    environ.pop("CLICKHOUSE_URL", None)
    log = home / "run.log"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("a") as sink:
        done = subprocess.run(command, env=environ, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:3])} failed (exit {done.returncode}); see {log}")


def _print_outcome(decoding: str, outcome: dict) -> None:
    print(f"\n{decoding}: content {outcome['content_seconds']} s")
    for writer, counts in sorted(outcome["by_writer"].items()):
        print(f"  {writer:<18} {counts['drafts']:>4} drafts, {counts['passing']:>4} passing")
    recounted = outcome["recount"]
    totals: dict[str, int] = {}
    for counts in recounted["counts"].values():
        for verdict, n in counts.items():
            totals[verdict] = totals.get(verdict, 0) + n
    print(f"  recount of {recounted['figures']} figures in {recounted['drafts']} passing drafts against the raw "
          f"tables: {'all correct' if outcome['recount_ok'] else 'PROBLEMS'} {totals}")
    for problem in recounted["problems"]:
        print(f"    {problem['verdict']}: {problem['written']!r} ({problem['fact']}) in {problem['text']!r}")


def _print_side_by_side(decodings: dict[str, dict]) -> None:
    print(f"\n{'decoding':<10}{'passing':>9}{'by model':>10}{'model %':>9}{'fallbacks':>11}"
          f"{'recount ok':>12}{'content s':>11}")
    for decoding, o in decodings.items():
        text = {w: c for w, c in o["by_writer"].items() if w not in ("chart", "diffusion")}
        passing = sum(c["passing"] for c in text.values())
        model = text.get("model", {}).get("passing", 0)
        fallbacks = text.get("template fallback", {}).get("passing", 0)
        share = f"{100 * model / passing:.0f}%" if passing else "-"
        print(f"{decoding:<10}{passing:>9}{model:>10}{share:>9}{fallbacks:>11}{str(o['recount_ok']):>12}"
              f"{sum(o['content_seconds'].values()):>11.0f}")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dates", default="2013-02-28,2013-03-01",
                        type=lambda s: [dt.date.fromisoformat(d) for d in s.split(",")])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--decoding", default="free,locked", type=lambda s: s.split(","))
    parser.add_argument("--work-dir", help="keep the warehouses here (the ELT is reused on a rerun)")
    parser.add_argument("--out", help="write the report as JSON")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
elif __name__ == "outcome":
    outcome(Path(sys.argv[1]), [dt.date.fromisoformat(d) for d in sys.argv[2].split(",")])
