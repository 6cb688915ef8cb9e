"""Where a query's result goes: the terminal, a CSV file or a Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("table", "csv", "parquet")


def emit(df: pd.DataFrame, fmt: str, output: Path | None, *, limit: int) -> str:
    """Print-ready text: the table itself (``table``), or a line naming the file written.

    ``limit`` caps the rows printed as a table; a file always gets every row. Parquet is
    binary, so it needs ``output``; CSV without ``output`` is the text itself (stdout).
    """
    import pandas as pd

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "table":
        if not len(df):
            return f"(no rows{': ' + ', '.join(df.columns) if len(df.columns) else ''})"
        with pd.option_context("display.max_rows", limit, "display.max_columns", 50, "display.width", 200):
            return df.head(limit).to_string(index=False) + f"\n({len(df)} rows)"
    if output is None:
        if fmt == "parquet":
            raise ValueError("--format parquet writes a file: give --output PATH")
        return df.to_csv(index=False).rstrip("\n")
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        df.to_csv(output, index=False)
    else:
        df.to_parquet(output, index=False)
    return f"{len(df)} rows written to {output}"
