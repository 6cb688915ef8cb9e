"""The analyst cookbook: ten questions, each answered by one SQL file in warehouse/sql/cookbook.

docs/analyst-cookbook.md is rendered from those files (``python -m
nightdesk.analytics.cookbook`` rewrites it) and a test compares the two, so the page
cannot show SQL that is not the SQL the tests run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nightdesk.settings import PROJECT_ROOT, WAREHOUSE_DIR

COOKBOOK_DIR = WAREHOUSE_DIR / "sql" / "cookbook"
DOC = PROJECT_ROOT / "docs" / "analyst-cookbook.md"
_QUESTION = re.compile(r"^-- question: (.+)$", re.M)

INTRO = """\
# Analyst cookbook

Ten questions analysts ask about the night's content, each with the SQL that answers it.
The queries read the `analyst_*` views ([schema](warehouse-schema.md)), which already
deduplicate reruns, so none of them needs `FINAL`. Each query takes the logical dates
`start` and `end` (inclusive) and is run by the tests on pipeline-made data.

Run one from the command line, to the terminal, a CSV or a Parquet file:

```bash
nightdesk query --file warehouse/sql/cookbook/01_acceptance_by_prompt_version.sql \\
    --param start=2013-02-25 --param end=2013-03-01 [--format csv|parquet --output FILE]
```

or in a notebook: `nightdesk.analytics.views.sql_frame(path, {"start": ..., "end": ...})`.
This page is generated from `warehouse/sql/cookbook/*.sql` by
`python -m nightdesk.analytics.cookbook`; edit the SQL files, not the page.
"""


@dataclass(frozen=True)
class Recipe:
    path: Path
    question: str

    @property
    def sql(self) -> str:
        return self.path.read_text()


def recipes() -> list[Recipe]:
    """Every cookbook query in file order; a file without a ``-- question:`` line is an error."""
    found = []
    for path in sorted(COOKBOOK_DIR.glob("*.sql")):
        match = _QUESTION.search(path.read_text())
        if not match:
            raise ValueError(f"{path} has no '-- question: ...' line")
        found.append(Recipe(path, match.group(1).strip()))
    return found


def render() -> str:
    """The cookbook page's Markdown."""
    parts = [INTRO]
    for n, recipe in enumerate(recipes(), 1):
        parts.append(f"## {n}. {recipe.question}\n\n`{recipe.path.relative_to(PROJECT_ROOT)}`\n\n"
                     f"```sql\n{recipe.sql.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
