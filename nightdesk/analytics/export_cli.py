"""``nightdesk export preferences|sft``: editors' decisions written as TRL training files.

    nightdesk export preferences --start D --end D [--out FILE] [--include-template-chosen]
        FILE (pairs, DPO) and FILE's ``.unpaired.jsonl`` sibling (KTO rows, all label false)
    nightdesk export sft --start D --end D [--out FILE] [--include-template-chosen]

Default files: ``<data_dir>/exports/{preferences,sft}_<start>_<end>.jsonl``. Rows and
their rules: :mod:`nightdesk.analytics.preferences` and ``docs/training-data.md``.
"""

from __future__ import annotations

import argparse
from collections import Counter

from nightdesk.analytics.preferences import collect, default_path, unpaired_path, write_jsonl


def cmd_export(args: argparse.Namespace) -> int:
    """Collect the range's rows and write the file(s) ``args.export_command`` names."""
    try:
        data = collect(args.start, args.end, include_template_chosen=args.include_template_chosen)
    except ValueError as exc:
        print(f"nothing exported: {exc}", flush=True)
        return 2
    out = args.out or default_path(args.export_command, args.start, args.end)
    if args.export_command == "preferences":
        kinds = Counter(r["pair_type"] for r in data.pairs)
        n = write_jsonl(out, data.pairs)
        print(f"{n} preference pair(s) ({kinds['edited']} edited, {kinds['failed_attempt']} after failed attempts) "
              f"-> {out}", flush=True)
        side = unpaired_path(out)
        print(f"{write_jsonl(side, data.unpaired)} unpaired row(s), label false -> {side}", flush=True)
    else:
        print(f"{write_jsonl(out, data.sft)} approved text(s) -> {out}", flush=True)
    for why, count in sorted(data.skipped.items()):
        print(f"  left out: {count} {why}", flush=True)
    return 0
