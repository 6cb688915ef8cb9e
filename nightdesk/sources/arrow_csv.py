"""The fast path for delimited files: read with Arrow, type and check every row in Arrow.

Most nights a file is clean: every row has the header's fields and every value fits its
declared column. For those files the per-row machinery of :mod:`~nightdesk.sources.formats`
and :func:`~nightdesk.sources.schema.validate` (line numbers, reasons, quarantine records)
produces nothing, yet it costs most of a load's time (benchmarks/load_throughput.py).
This module reads such a file with Arrow's multi-threaded CSV parser and applies the same
checks as vectorised Arrow kernels, producing the same typed values.

It never decides that a row is bad. The first thing it cannot vouch for — a row with too
many or too few fields, a blank line, a line break inside a value, bytes that are not
UTF-8, a value that fails or might fail a check, a duplicate key, a date it cannot read —
raises :class:`NotClean`, and the loader reads the file again through the careful path,
which names the file, line, column and value of every bad row exactly as before. A clean
file therefore loads the same rows with the same values either way (a test compares the
two paths), and a hostile one pays for a second read.

Only files the careful path would read as plain UTF-8 CSV/TSV take this path: no
``read_options`` beyond the delimiter, no allowed-value list on a non-text column (pandas
and Arrow spell numbers differently as text).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from nightdesk.sources import formats
from nightdesk.sources.schema import FINITE_LIMIT, Column, KeyTracker, Schema

if TYPE_CHECKING:
    import pyarrow as pa

    from nightdesk.sources.readers import FileReader

# Arrow parses blocks of this many bytes in parallel; ~100k flights-shaped rows each.
BLOCK_BYTES = 16 << 20


class NotClean(Exception):
    """The file holds something only the careful path may judge; the message says what."""


def applicable(reader: object, schema: Schema) -> bool:
    """Whether ``reader`` reads files this path can take for ``schema``."""
    from nightdesk.sources.readers import FileReader

    if not isinstance(reader, FileReader) or reader.format not in ("csv", "tsv"):
        return False
    if set(reader.read_options) - {"sep", "delimiter"}:
        return False
    sep = reader.read_options.get("sep", reader.read_options.get("delimiter", ","))
    if not isinstance(sep, str) or len(sep) != 1:  # pandas reads a regex or a longer separator; Arrow cannot
        return False
    import codecs

    if codecs.lookup(reader.encoding).name != "utf-8":
        return False
    return all(c.allowed is None or c.type == "str" for c in schema.columns)


def clean_tables(reader: FileReader, schema: Schema, logical_date: dt.date, *, rows: int,
                 keys: KeyTracker) -> Iterator[pa.Table]:
    """The logical date's rows of every file ``reader`` reads, typed as ``schema`` says,
    in tables of about ``rows`` rows; raises :class:`NotClean` at the first doubt."""
    url = reader.resolved_url(logical_date)
    for where, opener, fmt in reader.files(url):
        if fmt not in ("csv", "tsv"):
            raise NotClean(f"{where} is {fmt}")
        sep = reader.read_options.get("sep", reader.read_options.get("delimiter", "\t" if fmt == "tsv" else ","))
        for batch in _batches(opener, where, sep=sep, rows=rows):
            if batch.num_rows and _any_row_all_missing(batch):
                raise NotClean(f"{where}: a row with no value at all (the careful path drops it)")
            batch = _renamed(batch, reader.rename)
            batch = batch.filter(_on_date(batch, reader, logical_date))
            yield _typed(batch, schema, keys, where)


def _batches(opener: formats.Opener, where: str, *, sep: str, rows: int) -> Iterator[pa.Table]:
    """The file's rows as all-text tables of about ``rows`` rows each."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    irregular: list[str] = []

    def refuse(row: pacsv.InvalidRow) -> str:  # type: ignore[name-defined]
        irregular.append(f"a row with {row.actual_columns} fields where the header has {row.expected_columns}")
        return "skip"

    # newlines_in_values: a quoted value may hold a line break; without it Arrow may split
    # such a record wrongly at a block boundary.
    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False,
                               invalid_row_handler=refuse)
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        with opener() as handle:
            header = pacsv.open_csv(handle, read_options=pacsv.ReadOptions(block_size=1 << 16),
                                    parse_options=parse).schema.names
        if len(set(header)) != len(header):
            raise NotClean(f"{where}: the header repeats a column name")
        convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                       null_values=formats.NA_VALUES, strings_can_be_null=True,
                                       quoted_strings_can_be_null=True)
        with opener() as handle:
            stream = pacsv.open_csv(handle, read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
                                    parse_options=parse, convert_options=convert)
            for batch in stream:
                if irregular:
                    raise NotClean(f"{where}: {irregular[0]}")
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= rows:
                    yield pa.Table.from_batches(pending)
                    pending, pending_rows = [], 0
    except (pa.ArrowInvalid, OSError, ValueError, *formats.BROKEN) as exc:
        raise NotClean(f"{where}: {str(exc).splitlines()[0][:200]}") from exc
    if irregular:
        raise NotClean(f"{where}: {irregular[0]}")
    if pending:
        yield pa.Table.from_batches(pending)


def _any_row_all_missing(table: pa.Table) -> bool:
    import pyarrow.compute as pc

    missing = pc.is_null(table.column(0))
    for column in table.columns[1:]:
        missing = pc.and_(missing, pc.is_null(column))
    return bool(pc.any(missing).as_py())


def _renamed(table: pa.Table, rename: dict[str, str] | object) -> pa.Table:
    mapping = dict(rename)  # type: ignore[call-overload]
    if not mapping:
        return table
    names = [mapping.get(name, name) for name in table.column_names]
    if len(set(names)) != len(names):
        raise NotClean("renaming makes two columns share a name")
    return table.rename_columns(names)


def _on_date(table: pa.Table, reader: FileReader, logical_date: dt.date) -> pa.Array:
    """Which rows are the logical date's; a date the careful path would pass on unread
    (so it is judged by the validator) is a doubt."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if reader.date_column:
        _require(table, [reader.date_column])
        dates = _dates(table[reader.date_column], reader.date_column)
        if dates.null_count:  # the careful path passes such rows on to be judged
            raise NotClean(f"{reader.date_column}: a row without a date")
        return pc.equal(dates, pa.scalar(logical_date, pa.date32())).combine_chunks()
    if reader.date_parts:
        _require(table, list(reader.date_parts))
        y, m, d = (_ints(table[name], name).to_numpy(zero_copy_only=False) for name in reader.date_parts)
        valid = (y >= 1678) & (y <= 2261) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= _days_in_month(y, m))
        if not valid.all():
            raise NotClean(f"date parts {reader.date_parts} that make no date")
        return pa.array((y == logical_date.year) & (m == logical_date.month) & (d == logical_date.day))
    return pa.array(np.ones(table.num_rows, dtype=bool))


def _days_in_month(year, month):  # numpy arrays in, numpy array out
    import numpy as np

    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1).astype("timedelta64[M]")
    return ((first + np.timedelta64(1, "M")).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(int)


def _require(table: pa.Table, names: list[str]) -> None:
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise NotClean(f"columns {missing} are missing")


def _typed(table: pa.Table, schema: Schema, keys: KeyTracker, where: str) -> pa.Table:
    """``table``'s schema columns, typed and checked as the validator would."""
    import pyarrow as pa

    _require(table, schema.names)
    typed = pa.table({col.name: _column(table[col.name], col) for col in schema.columns})
    if schema.primary_key and table.num_rows:
        key = typed.select(list(schema.primary_key)).to_pandas()
        if keys.duplicates(key).any():
            raise NotClean(f"{where}: a duplicate primary key")
    return typed


def _column(text: pa.ChunkedArray, col: Column) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    stripped = pc.utf8_trim_whitespace(text)
    if pc.any(pc.not_equal(stripped, text)).as_py():
        # Arrow's idea of whitespace is not exactly Python's str.strip(): leave it to the validator.
        raise NotClean(f"{col.name}: a value with whitespace at its edges")
    present = pc.and_(pc.is_valid(text), pc.not_equal(text, ""))
    absent = int(pc.sum(pc.invert(present)).as_py() or 0)
    if absent and not col.nullable:
        raise NotClean(f"{col.name}: a required value is missing")
    source = text if not absent else pc.if_else(present, text, None)
    if col.type == "str":
        value = pc.if_else(present, text, None) if absent else text
    elif col.type == "int":
        value = _ints(source, col.name)
    elif col.type == "float":
        value = _floats(source, col)
    elif col.type == "date":
        value = _dates(source, col.name)
    else:
        value = _datetimes(source, col.name)
    _check_bounds(value, col)
    return value


def _ints(values: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Plain decimal integers only: Arrow's cast also reads ``0x1F`` (as 31), which the
    careful path refuses."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.match_substring_regex(values, r"^[+-]?[0-9]+$")
    if not pc.all(pc.or_(plain, pc.is_null(values))).as_py():
        raise NotClean(f"{name}: a value that is not a plain integer")
    try:
        number = pc.cast(values, pa.int64())
    except pa.ArrowInvalid:
        raise NotClean(f"{name}: an integer beyond the 64-bit range") from None
    return number


def _floats(values: pa.ChunkedArray, col: Column) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        number = pc.cast(values, pa.float64())
    except pa.ArrowInvalid:
        raise NotClean(f"{col.name}: a value that is not a plain number") from None
    if pc.any(pc.is_nan(number)).as_py():
        raise NotClean(f"{col.name}: a NaN")
    if col.finite and pc.any(pc.greater(pc.abs(number), FINITE_LIMIT)).as_py():
        raise NotClean(f"{col.name}: a value beyond ±{FINITE_LIMIT:g}")
    return number


def _dates(values: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        dates = pc.cast(values, pa.date32())
    except pa.ArrowInvalid:
        raise NotClean(f"{name}: a value that is not a plain YYYY-MM-DD date") from None
    if dates.null_count != values.null_count:
        raise NotClean(f"{name}: an unreadable date")
    return dates


def _datetimes(values: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Timestamps in UTC: with an offset they are converted, without one they are UTC
    (as the validator's ``utc=True`` reads them); a column mixing both is a doubt."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(values, pa.timestamp("ns", "UTC"))
    except pa.ArrowInvalid:
        pass
    try:
        return pc.assume_timezone(pc.cast(values, pa.timestamp("ns")), "UTC")
    except pa.ArrowInvalid:
        raise NotClean(f"{name}: a value that is not a plain ISO 8601 timestamp") from None


def _check_bounds(value: pa.ChunkedArray, col: Column) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    # An integer column compares with whole bounds: Arrow compares an int64 with a float
    # bound by casting the integers to float64, which refuses those beyond 2**53.
    low, high = col.min, col.max
    if col.type == "int":
        low = None if low is None else math.ceil(low)
        high = None if high is None else math.floor(high)
    if low is not None and pc.any(pc.less(value, low)).as_py():
        raise NotClean(f"{col.name}: a value below {col.min:g}")
    if high is not None and pc.any(pc.greater(value, high)).as_py():
        raise NotClean(f"{col.name}: a value above {col.max:g}")
    if col.allowed is not None:
        inside = pc.is_in(value, value_set=pa.array(list(col.allowed)))
        if not pc.all(pc.or_(inside, pc.is_null(value))).as_py():
            raise NotClean(f"{col.name}: a value outside its allowed list")
