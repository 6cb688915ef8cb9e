"""Declared source schemas and the vectorised row validator that splits good rows from bad.

Every source row ends in exactly one place: the raw table (coerced to the declared types)
or the quarantine (kept verbatim as JSON, with a reason naming where the row is, the
column and the value). Where is the file and the line in it when the reader says so
(:data:`FILE`, :data:`LINE`), else the row's ordinal in the extract (SQL, HTTP).
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


class PermanentSourceError(SourceError):
    """A source that reading again cannot fix: a missing or unreadable file, bytes that are
    not the declared encoding, a truncated archive, columns the schema needs missing.
    The scheduler fails such a task at once instead of retrying it."""


# A reader that could not split a row into the header's fields (a CSV row with more
# fields than the header) still passes the row on, with the reason in this column, so the
# row is quarantined in its place instead of failing the whole load or vanishing.
REJECTED = "_rejected"

# File readers say where each row came from in these two columns, so a quarantined row
# names the file (a categorical: one label per chunk, not one string per row) and its
# line in that file (for formats without lines, the row number the format counts: a
# spreadsheet row, a Parquet row, a Stata observation, a JSON record).
FILE = "_file"
LINE = "_line"
HIDDEN = (REJECTED, FILE, LINE)

# A finite-only float column refuses magnitudes above this: any sum, mean or product of
# two such values over any number of rows stays finite (1e308 itself is finite, but two
# of them summed in a mart are inf). No measured quantity comes near it.
FINITE_LIMIT = 1e100
# Int64's range, the widest integer the validator hands on.
_INT_LIMIT = 2**63
# The widest whole number a float holds exactly: an integer written as a float beyond it
# ("1e300") is refused rather than rounded.
_EXACT_FLOAT_INT = 2**53


@dataclass(frozen=True)
class Column:
    """One declared column.

    :param name: column name after the reader's renames.
    :param type: ``int``, ``float``, ``str``, ``date`` or ``datetime`` (UTC).
    :param nullable: whether an empty value is allowed.
    :param min: smallest allowed value (numbers only), inclusive.
    :param max: largest allowed value (numbers only), inclusive.
    :param allowed: the only values allowed (compared as text after coercion, e.g.
        ``("EWR", "JFK", "LGA")``); ``None`` allows any.
    :param finite: for ``float`` columns, refuse ``inf``, ``-inf`` and magnitudes above
        :data:`FINITE_LIMIT`; set ``False`` only where the source means infinity.
    """

    name: str
    type: ColumnType
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    finite: bool = True

    def __post_init__(self) -> None:
        self._validate_type()
        self._validate_bounds()
        if self.allowed is not None:
            object.__setattr__(self, "allowed", self._validate_allowed(self.allowed))

    def _validate_type(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name!r}: type {self.type!r} is not one of {', '.join(COLUMN_TYPES)}")

    def _validate_bounds(self) -> None:
        if (self.min is not None or self.max is not None) and self.type not in ("int", "float"):
            raise ValueError(f"column {self.name!r}: min/max apply to int and float columns, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name!r}: min {self.min:g} is above max {self.max:g}")

    def _validate_allowed(self, allowed: object) -> tuple[str, ...]:
        if isinstance(allowed, str) or not isinstance(allowed, (list, tuple)) or not allowed:
            raise ValueError(f"column {self.name!r}: allowed must be a non-empty list of values, got {allowed!r}")
        return tuple(str(value) for value in allowed)


COLUMN_TYPES: tuple[ColumnType, ...] = ("int", "float", "str", "date", "datetime")


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


def validate(raw: pd.DataFrame, schema: Schema, *, source: str, first_row: int, keys: KeyTracker,
             origin: str | None = None) -> Validated:
    """Coerce ``raw`` to ``schema``; rows that do not fit go to ``bad`` with a reason.

    :param first_row: 1-based number of ``raw``'s first row in the whole extract, the
        row number of readers that do not give :data:`LINE` (SQL, HTTP).
    :param origin: what such a reader read (its ``describe()``), named in each reason
        as "<origin> row N of the extract"; file readers name the file through
        :data:`FILE` instead ("<file> line N").
    """
    import numpy as np
    import pandas as pd

    raw = _check_columns(raw.reset_index(drop=True), schema, source)
    reasons = pd.Series("", index=raw.index, dtype="object")
    out: dict[str, pd.Series] = {}
    for col in schema.columns:
        out[col.name] = _check_column(raw[col.name], col, reasons)
    if REJECTED in raw.columns:
        rejected = raw[REJECTED].notna()
        # The reader's reason replaces the column checks: a misread row's values are misplaced.
        reasons[rejected] = raw.loc[rejected, REJECTED].astype(str)
    typed = pd.DataFrame(out)
    ok = (reasons == "").to_numpy().copy()
    if schema.primary_key:
        key = list(schema.primary_key)
        dup = np.zeros(len(raw), dtype=bool)
        dup[ok] = keys.duplicates(typed.loc[ok, key])
        if dup.any():
            _add(reasons, pd.Series(dup, index=raw.index),
                 "duplicate primary key (" + ", ".join(key) + ") = (" + _joined(typed.loc[dup, key]) + ")")
        ok &= ~dup
    numbers = raw[LINE].to_numpy("int64") if LINE in raw.columns else np.arange(len(raw)) + first_row
    bad_rows = raw.loc[~ok].drop(columns=list(HIDDEN), errors="ignore")
    bad = pd.DataFrame(
        {
            "row_number": numbers[~ok].astype("uint64"),
            "record": bad_rows.astype("string").to_json(orient="records", lines=True).splitlines() if len(bad_rows) else [],
            "reason": (_places(raw.loc[~ok], numbers[~ok], origin or f"source {source!r}")
                       + ": " + reasons[~ok]).to_list(),
        }
    )
    return Validated(good=typed.loc[ok].reset_index(drop=True), bad=bad)


def _check_columns(raw: pd.DataFrame, schema: Schema, source: str) -> pd.DataFrame:
    """``raw`` with every schema column, or an error naming those missing.

    Formats without a header (JSON lines, a JSON list) only have the columns their rows
    bring: a :func:`shapeless` chunk lacks columns without anything being wrong, so
    those get empty ones.
    """
    missing = [c for c in schema.names if c not in raw.columns]
    if missing and shapeless(raw):
        return raw.assign(**{name: None for name in missing})
    if missing:
        where = f" file {raw[FILE].iloc[0]}:" if FILE in raw.columns and len(raw) else ""
        found = [c for c in raw.columns if c not in HIDDEN]
        raise PermanentSourceError(f"source {source!r}:{where} columns {missing} are missing (found {found})")
    return raw


def shapeless(raw: pd.DataFrame) -> bool:
    """Whether a chunk may lack columns: it has no rows, or only rows its reader rejected."""
    return not len(raw) or (REJECTED in raw.columns and bool(raw[REJECTED].notna().all()))


def _check_column(original: pd.Series, col: Column, reasons: pd.Series) -> pd.Series:
    """``original`` coerced to ``col``'s type; each value that fails a check adds to ``reasons``."""
    import pandas as pd

    text = original.astype("string").str.strip()
    present = original.notna() & (text != "")
    coerced = _coerce(original.where(present), col.type)
    failed = present & coerced.isna()
    _add(reasons, failed, col.name + ": expected " + col.type + ", got " + text[failed].str.slice(0, 80))
    if not col.nullable:
        _add(reasons, ~present, pd.Series(col.name + ": required value is missing", index=original.index)[~present])
    checkable = coerced.notna()
    if col.type == "float" and col.finite:
        wild = checkable & ~(coerced.abs() <= FINITE_LIMIT)
        _add(reasons, wild, col.name + ": " + text[wild].str.slice(0, 80)
             + f" is not a finite number within ±{FINITE_LIMIT:g}")
        checkable &= ~wild
    if col.min is not None:
        low = checkable & (coerced < col.min)
        _add(reasons, low, col.name + ": " + coerced[low].astype(str) + f" is below {col.min:g}")
    if col.max is not None:
        high = checkable & (coerced > col.max)
        _add(reasons, high, col.name + ": " + coerced[high].astype(str) + f" is above {col.max:g}")
    if col.allowed is not None:
        outside = checkable & ~coerced.astype("string").isin(col.allowed)
        shown = ", ".join(col.allowed[:12]) + (f" and {len(col.allowed) - 12} more" if len(col.allowed) > 12 else "")
        _add(reasons, outside, col.name + ": '" + text[outside].str.slice(0, 80) + f"' is not one of {shown}")
    return coerced


def _joined(frame: pd.DataFrame) -> pd.Series:
    """Each row's values as text joined by ", " (missing values as empty text)."""
    parts = [frame[name].astype("string").fillna("") for name in frame.columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + ", " + part
    return joined


def _places(rows: pd.DataFrame, numbers: np.ndarray, origin: str) -> pd.Series:
    """Where each row is: "<file> line N" from a file reader, else "<origin> row N of the extract"."""
    import pandas as pd

    text = pd.Series(numbers.astype(str), index=rows.index, dtype="object")
    if FILE in rows.columns:
        return rows[FILE].astype(str) + " line " + text
    return origin + " row " + text + " of the extract"


def _add(reasons: pd.Series, mask: pd.Series, text: pd.Series) -> None:
    if not mask.any():
        return
    prefix = reasons[mask].where(reasons[mask] == "", reasons[mask] + "; ")
    reasons[mask] = prefix + text


def _integers(values: pd.Series) -> pd.Series:
    """Integers, read exactly: a plain decimal integer within Int64 keeps every digit (a
    missing value beside it would otherwise send the whole chunk through float64, which
    rounds 9007199254740993 to ...992 without a word). Another spelling of a whole number
    ("1.0", "1e3") is read as a float and kept only where a float is exact (|x| < 2**53);
    beyond that it is refused, never rounded."""
    import pandas as pd

    text = values.astype("string").str.strip()
    plain = text.str.fullmatch(r"[+-]?[0-9]+").fillna(False).astype(bool)
    short = plain & (text.str.lstrip("+-").str.len() <= 18)  # always within Int64
    out = pd.to_numeric(text.where(short), errors="coerce", dtype_backend="numpy_nullable").astype("Int64")
    for index, digits in text[plain & ~short].items():  # rare: 19 digits or more, checked one by one
        number = int(digits)
        if -_INT_LIMIT <= number < _INT_LIMIT:
            out[index] = number
    other = ~plain & values.notna()
    if other.any():
        number = pd.to_numeric(values.where(other), errors="coerce")
        whole = number.notna() & (number.abs() < _EXACT_FLOAT_INT) & (number == number.round())
        out = out.mask(whole, number.where(whole).astype("Int64"))
    return out


def _coerce(values: pd.Series, kind: ColumnType) -> pd.Series:
    import pandas as pd

    if kind == "int":
        return _integers(values)
    if kind == "float":
        return pd.to_numeric(values, errors="coerce").astype("Float64")
    if kind == "str":
        return values.astype("string").str.strip()
    if kind == "date":
        return pd.to_datetime(values, errors="coerce", format="ISO8601").dt.date.astype("object")
    if kind == "datetime":
        return pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    raise SourceError(f"unknown column type {kind!r}")
