"""Draft quality: the share of first-attempt drafts that pass the automatic checks, per kind.

Builds the warehouse for a few demo dates in a throw-away data directory (migrations, the
demo operational database, the ELT DAG through Airflow), chooses each date's stories the
way the content DAG does, then writes one draft per story and text kind twice in the same
run: with the configured model once per decoding in ``--decoding`` (loaded once, batched,
through the pipeline's own ``ModelTextWriter``, attempt 1, so the same prompts, token
limits, stop strings and seeds as a nightly run's first attempt; ``free`` and ``locked``
as ``NIGHTDESK_TEXT_DECODING`` takes them) and with the data-to-text templates (``TemplateTextWriter``,
the baseline every failed draft falls back to). Every draft goes through
``nightdesk.checks.run_text_checks``; the near-duplicate check has no recent items to
compare against here (nothing is published in a fresh warehouse), so it always passes.

Output: per kind, drafts, passed, pass rate and the failing checks and findings that
occur most often, then the first-attempt pass rate per kind of every writer side by side
with its wall time. The run is deterministic for a given model, device, seed and batch
size (``--seed``, ``--batch-size``; defaults are the pipeline's settings).

    .venv/bin/python benchmarks/draft_quality.py                                # smollm2, 2013-02-27..2013-03-01
    .venv/bin/python benchmarks/draft_quality.py --dates 2013-02-26,2013-03-01 --out /tmp/quality.json
    .venv/bin/python benchmarks/draft_quality.py --data-dir /tmp/nd-quality     # keep the warehouse for reruns
    .venv/bin/python benchmarks/draft_quality.py --decoding locked              # one decoding only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

DEFAULT_DATES = "2013-02-27,2013-02-28,2013-03-01"
#: ELT also runs for this many days before the first date, so the anomaly story has the
#: history its story.yml demands (at least 5 of the previous 7 days of an airport) and a
#: stock move has its previous close.
HISTORY_DAYS = 7
TOP_FAILURES = 4


def main() -> int:
    args = _parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="nightdesk-draft-quality-")).resolve()
    _configure_env(data_dir, args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    # 1. The warehouse and the dates' fact sheets, built the way the nightly run builds them
    run_started = started = time.perf_counter()
    sheets = _fact_sheets(args.dates, data_dir, args.stories)
    elt_s = time.perf_counter() - started
    print(f"data dir {data_dir}; {len(sheets)} stories on {len(args.dates)} dates "
          f"({', '.join(d.isoformat() for d in args.dates)}), warehouse ready in {elt_s:.0f} s", flush=True)

    # 2. One draft per story and kind from each writer, the model loaded once
    from nightdesk.content.records import WorkItem
    from nightdesk.content.writers import ModelTextWriter, TemplateTextWriter
    from nightdesk.settings import get_settings
    from nightdesk.stories.catalog import TEXT_KINDS, load_catalog

    catalog, settings = (load_catalog(args.stories) if args.stories else load_catalog()), get_settings()
    items = [WorkItem(sheet, kind) for sheet in sheets for kind in args.kinds]
    writers: list = []
    if args.model != "template":
        model_writer = ModelTextWriter(catalog, settings)  # loads the model once, on first write
        writers += [(f"{args.model} {decoding}", model_writer, decoding) for decoding in args.decoding]
    writers.append(("template", TemplateTextWriter(catalog), None))
    report: dict = {
        "model": args.model, "dates": [d.isoformat() for d in args.dates], "seed": settings.seed,
        "stories": str(args.stories or "stories"), "batch_size": settings.text_batch_size,
        "kinds": list(args.kinds), "writers": {},
        "prompt_versions": {f"{k}@{s}": st.template_version(k, catalog.system, catalog.kinds[k])
                            for s, st in catalog.story_types.items() for k in TEXT_KINDS},
    }
    for label, writer, decoding in writers:
        if decoding:
            writer.settings = replace(settings, text_decoding=decoding)
        started = time.perf_counter()
        generations = writer.write(items)
        write_s = time.perf_counter() - started
        drafts = [_checked(g) for g in generations]
        report["writers"][label] = {"seconds": round(write_s, 1), "model_revision": generations[0].model_revision,
                                    "drafts": drafts}
        # 3. Per kind: how many passed, and what failed most
        _print_table(label, writer.generator, drafts, args.kinds, write_s)

    _print_side_by_side(report["writers"], args.kinds)
    report["total_seconds"] = round(time.perf_counter() - run_started, 1)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1, ensure_ascii=False))
        print(f"\nwrote {args.out}")
    return 0


def _configure_env(data_dir: Path, args: argparse.Namespace) -> None:
    """Point Nightdesk and Airflow at ``data_dir`` before either is imported (as tests/conftest.py does)."""
    os.environ["NIGHTDESK_DATA_DIR"] = str(data_dir / "data")
    os.environ.pop("CLICKHOUSE_URL", None)
    os.environ.pop("NIGHTDESK_OPS_DB_URL", None)
    os.environ["NIGHTDESK_TEXT_MODEL"] = args.model
    if args.seed is not None:
        os.environ["NIGHTDESK_SEED"] = str(args.seed)
    if args.batch_size is not None:
        os.environ["NIGHTDESK_TEXT_BATCH_SIZE"] = str(args.batch_size)
    os.environ["AIRFLOW_HOME"] = str(data_dir / "airflow")
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parent.parent / "dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # A GGUF model is converted once into <data_dir>/models; share an existing conversion.
    models = data_dir / "data" / "models"
    if args.model_cache and Path(args.model_cache).is_dir() and not models.exists():
        models.parent.mkdir(parents=True, exist_ok=True)
        models.symlink_to(Path(args.model_cache).resolve(), target_is_directory=True)


def _fact_sheets(dates: list[dt.date], data_dir: Path, stories: Path | None) -> list:
    """Each date's chosen fact sheets, in rank order; ELT runs only for dates not built yet.

    With ``stories`` (another story catalog, e.g. the previous prompt data), the sheets are
    selected with that catalog and not stored, so its fact labels are the ones prompted.
    """
    from nightdesk.warehouse import clickhouse, migrations
    from nightdesk.sources import ops_db
    from nightdesk.airflow_setup import init_airflow
    from nightdesk.cli import logs_to
    from nightdesk.content.produce import choose_stories
    from nightdesk.runner import run_dag
    from nightdesk.stories import store
    from nightdesk.stories.catalog import load_catalog
    from nightdesk.stories.select import select_stories

    wh = clickhouse.connect()
    migrations.migrate(wh)
    marker = data_dir / "elt-done.txt"
    built = set(marker.read_text().split()) if marker.exists() else set()
    first = min(dates)
    elt_days = sorted({first - dt.timedelta(days=i) for i in range(1, HISTORY_DAYS + 1)} | set(dates))
    todo = [d for d in elt_days if d.isoformat() not in built]
    if todo:
        ops_db.seed()
        init_airflow()
    for day in todo:
        print(f"ELT {day} (log: {data_dir / 'elt.log'})", flush=True)
        with logs_to(data_dir / "elt.log"):  # Airflow's task logs, as `nightdesk run` keeps them
            outcome = run_dag("nightdesk_elt", day)
        if not outcome.ok:
            raise SystemExit(f"ELT failed for {day}: tasks {', '.join(outcome.failed_tasks)}")
        built.add(day.isoformat())
        marker.write_text("\n".join(sorted(built)))
    sheets = []
    for day in dates:
        if stories:
            sheets += select_stories(wh, load_catalog(stories), day)
        else:
            choose_stories(wh, day)
            sheets += store.load(wh, day)
    return sheets


def _checked(generation) -> dict:
    from nightdesk.checks import run_text_checks

    item = generation.item
    results = run_text_checks(item.kind, generation.output, item.sheet)
    failing = [r for r in results if not r.passed]
    return {
        "story_id": item.sheet.story_id, "story_type": item.sheet.story_type, "kind": item.kind,
        "prompt_version": generation.prompt.version, "seed": generation.seed, "text": generation.output,
        "passed": not failing,
        "failed_checks": [r.name for r in failing],
        "findings": [{"check": r.name, "message": f.message}
                     for r in failing for f in r.details if f.severity == "fail"],
    }


def finding_category(check: str, message: str) -> str:
    """A finding without its particulars: "facts: unbacked figure", "form: word count"."""
    if check == "form":
        for needle, label in (("words;", "word count"), ("characters", "too many characters"),
                              ("one line", "more than one line"), ("period", "ends with a period"),
                              ("is empty", "empty")):
            if needle in message:
                return f"form: {label}"
    head = re.split(r"\s['\"(\d]", message, maxsplit=1)[0]
    return f"{check}: {head}"


def _print_table(label: str, generator: str, drafts: list[dict], kinds: list[str], seconds: float) -> None:
    print(f"\n{label} ({generator}), {len(drafts)} drafts written in {seconds:.1f} s")
    print(f"{'kind':<11}{'drafts':>7}{'passed':>8}{'rate':>7}  most frequent failures (drafts with it)")
    for kind in [*kinds, "all"]:
        rows = [d for d in drafts if kind in ("all", d["kind"])]
        ok = sum(d["passed"] for d in rows)
        cats = Counter(c for d in rows for c in {finding_category(f["check"], f["message"]) for f in d["findings"]})
        top = "; ".join(f"{c} {n}" for c, n in cats.most_common(TOP_FAILURES)) or "-"
        print(f"{kind:<11}{len(rows):>7}{ok:>8}{ok / max(1, len(rows)):>7.0%}  {top}")


def _print_side_by_side(writers: dict, kinds: list[str]) -> None:
    """First-attempt pass rate per kind, one column per writer, and each writer's wall time."""
    print(f"\nfirst-attempt pass rate per kind (same stories and seeds)\n{'kind':<11}"
          + "".join(f"{label:>22}" for label in writers))
    for kind in [*kinds, "all"]:
        cells = []
        for run in writers.values():
            rows = [d for d in run["drafts"] if kind in ("all", d["kind"])]
            ok = sum(d["passed"] for d in rows)
            cells.append(f"{ok}/{len(rows)} {ok / max(1, len(rows)):.0%}")
        print(f"{kind:<11}" + "".join(f"{cell:>22}" for cell in cells))
    print(f"{'seconds':<11}" + "".join(f"{run['seconds']:>22.1f}" for run in writers.values()))


def _decodings(text: str) -> list[str]:
    from nightdesk.settings import TEXT_DECODINGS

    unknown = [d for d in text.split(",") if d not in TEXT_DECODINGS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown decoding {', '.join(unknown)}; known: {', '.join(TEXT_DECODINGS)}")
    return text.split(",")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2",
                        help="text model as NIGHTDESK_TEXT_MODEL takes it (default smollm2; "
                             "'template' runs the baseline only)")
    parser.add_argument("--dates", default=DEFAULT_DATES,
                        type=lambda s: [dt.date.fromisoformat(d) for d in s.split(",")],
                        help=f"comma-separated logical dates (default {DEFAULT_DATES})")
    parser.add_argument("--decoding", default="free,locked", type=_decodings,
                        help="model decodings to compare, comma-separated: free, figures, locked "
                             "(default free,locked)")
    parser.add_argument("--kinds", default="headline,brief,summary,marketing", type=lambda s: s.split(","))
    parser.add_argument("--out", default=None, help="write every draft, its checks and the settings as JSON here")
    parser.add_argument("--data-dir", default=None,
                        help="where the warehouse is built (default: a new temp dir); "
                             "reusing one skips ELT for the dates built there")
    parser.add_argument("--model-cache", default=str(Path(__file__).resolve().parent.parent / "var" / "models"),
                        help="an existing GGUF conversion cache to reuse (default <project>/var/models)")
    parser.add_argument("--stories", type=Path, default=None,
                        help="story catalog folder to use instead of <project>/stories "
                             "(to measure other prompt data, e.g. the previous commit's)")
    parser.add_argument("--seed", type=int, default=None, help="base seed (default: NIGHTDESK_SEED or the pipeline's)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="prompts per generate call (default: the pipeline's)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
