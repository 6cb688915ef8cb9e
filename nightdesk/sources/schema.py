"""Declared source schemas and the vectorised row validator that splits good rows from bad.

Every source row ends in exactly one place: the raw table (coerced to the declared types)
or the quarantine (kept verbatim as JSON, with a reason naming the column and value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ColumnType = Literal["int", "float", "str", "date", "datetime"]


class SourceError(RuntimeError):
    """A source could not be read as a whole; the message names the source and the place."""


# A reader that could not split a row into the header's fields (a CSV row with more
# fields than the header) still passes the row on, with the reason in this column, so the
# row is quarantined in its place instead of failing the whole load or vanishing.
REJECTED = "_rejected"


@dataclass(frozen=True)
class Column:
    """One declared column.

    :param name: column name after the reader's renames.
    :param type: ``int``, ``float``, ``str``, ``date`` or ``datetime`` (UTC).
    :param nullable: whether an empty value is allowed.
    :param min: smallest allowed value (numbers only), inclusive.
    :param max: largest allowed value (numbers only), inclusive.
    """

    name: str
    type: ColumnType
    nullable: bool = False
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass
class Validated:
    good: pd.DataFrame
    bad: pd.DataFrame  # columns: row_number, record, reason


class KeyTracker:
    """Remembers primary-key hashes across chunks so a duplicate in a later chunk is caught.

    The hashes are kept sorted: a chunk is looked up by binary search and merged in at
    the positions found, so each chunk costs one pass over what was seen. (``np.isin``
    and ``np.union1d`` re-sort everything seen for every chunk: a 10M-row load spent
    most of its 15 minutes there; see benchmarks/load_throughput.py.)
    """

    def __init__(self) -> None:
        import numpy as np

        self.seen: np.ndarray = np.empty(0, dtype="uint64")

    def duplicates(self, keys: pd.DataFrame) -> np.ndarray:
        """Boolean mask of rows whose key appeared before (earlier chunk or earlier row)."""
        import numpy as np
        import pandas as pd

        hashes = pd.util.hash_pandas_object(keys, index=False).to_numpy()
        dup = pd.Series(hashes).duplicated().to_numpy().copy()
        if len(self.seen):
            at = np.searchsorted(self.seen, hashes).clip(max=len(self.seen) - 1)
            dup |= self.seen[at] == hashes
        new = np.sort(hashes[~dup])
        self.seen = np.insert(self.seen, np.searchsorted(self.seen, new), new)
        return dup


def validate(raw: pd.DataFrame, schema: Schema, *, source: str, first_row: int, keys: KeyTracker) -> Validated:
    """Coerce ``raw`` to ``schema``; rows that do not fit go to ``bad`` with a reason.

    :param first_row: 1-based number of ``raw``'s first row in the whole extract, so a
        quarantined row can be found in the source.
    """
    import numpy as np
    import pandas as pd

    missing = [c for c in schema.names if c not in raw.columns]
    if missing:
        raise SourceError(
            f"source {source!r}: columns {missing} are missing (found {list(raw.columns)})"
        )
    raw = raw.reset_index(drop=True)
    reasons = pd.Series("", index=raw.index, dtype="object")
    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        original = raw[col.name]
        present = original.notna() & (original.astype("string").str.strip() != "")
        coerced = _coerce(original.where(present), col.type)
        failed = present & coerced.isna()
        _add(reasons, failed, col.name + ": expected " + col.type + ", got " + original[failed].astype(str).str.slice(0, 80))
        if not col.nullable:
            _add(reasons, ~present, pd.Series(col.name + ": required value is missing", index=raw.index)[~present])
        if col.min is not None:
            low = coerced.notna() & (coerced < col.min)
            _add(reasons, low, col.name + ": " + coerced[low].astype(str) + f" is below {col.min:g}")
        if col.max is not None:
            high = coerced.notna() & (coerced > col.max)
            _add(reasons, high, col.name + ": " + coerced[high].astype(str) + f" is above {col.max:g}")
        out[col.name] = coerced
    if REJECTED in raw.columns:
        rejected = raw[REJECTED].notna()
        # The reader's reason replaces the column checks: a misread row's values are misplaced.
        reasons[rejected] = raw.loc[rejected, REJECTED].astype(str)
    typed = pd.DataFrame(out)
    ok = (reasons == "").to_numpy().copy()
    if schema.primary_key:
        dup = np.zeros(len(raw), dtype=bool)
        dup[ok] = keys.duplicates(typed.loc[ok, list(schema.primary_key)])
        key_text = typed[list(schema.primary_key)].astype(str).agg(", ".join, axis=1) if dup.any() else None
        if key_text is not None:
            _add(reasons, pd.Series(dup, index=raw.index),
                 "duplicate primary key (" + ", ".join(schema.primary_key) + ") = (" + key_text[dup] + ")")
        ok &= ~dup
    bad_rows = raw.loc[~ok].drop(columns=REJECTED, errors="ignore")
    bad = pd.DataFrame(
        {
            "row_number": (np.flatnonzero(~ok) + first_row).astype("uint64"),
            "record": bad_rows.astype("string").to_json(orient="records", lines=True).splitlines() if len(bad_rows) else [],
            "reason": reasons[~ok].to_list(),
        }
    )
    return Validated(good=typed.loc[ok].reset_index(drop=True), bad=bad)


def _add(reasons: pd.Series, mask: pd.Series, text: pd.Series) -> None:
    if not mask.any():
        return
    prefix = reasons[mask].where(reasons[mask] == "", reasons[mask] + "; ")
    reasons[mask] = prefix + text


def _coerce(values: pd.Series, kind: ColumnType) -> pd.Series:
    import pandas as pd

    if kind == "int":
        number = pd.to_numeric(values, errors="coerce")
        whole = number.where(number.isna() | (number == number.round()))
        return whole.astype("Int64")
    if kind == "float":
        return pd.to_numeric(values, errors="coerce").astype("Float64")
    if kind == "str":
        return values.astype("string").str.strip()
    if kind == "date":
        return pd.to_datetime(values, errors="coerce", format="ISO8601").dt.date.astype("object")
    if kind == "datetime":
        return pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    raise SourceError(f"unknown column type {kind!r}")
