"""The engine's own path for a local CSV/TSV file on the embedded warehouse.

ClickHouse parses a CSV file faster than anything in Python (benchmarks/load_throughput.py
measures its ``INSERT ... SELECT FROM file()`` as the ceiling). Here the engine reads the
file as text, types every column and checks it as the validator would, all in one
``INSERT ... SELECT``, and ``throwIf`` aborts the statement at the first row it cannot
vouch for. Like :mod:`nightdesk.sources.arrow_csv`, this path never judges a row bad: an
abort, or anything else it is unsure of, raises :class:`~nightdesk.sources.arrow_csv.NotClean`
and the loader empties the scratch table and reads the file through the careful path,
which alone quarantines rows and names their file, line, column and value.

Where the engine's reading of text differs from pandas', the checks are stricter than
the validator rather than different from it, so a row this path loads holds the values
the careful path would load:

- values are read untrimmed, with ``\\N`` meaning nothing (the null marker is a token
  no file holds); ``""``, ``NA`` and ``null`` are missing, as in
  :data:`~nightdesk.sources.formats.NA_VALUES`;
- a value with leading or trailing whitespace, bytes that are not UTF-8, an integer
  not written as plain digits, a number not written plainly, a date or timestamp not in
  plain ISO 8601 (or one the engine would silently normalise, like February 31) aborts;
- floats are parsed exactly (``precise_float_parsing``); a primary key seen twice aborts
  (checked after the insert, on the scratch table).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from nightdesk.sources.arrow_csv import NotClean
from nightdesk.sources.formats import NA_VALUES
from nightdesk.sources.readers import _GLOB, CHUNK_ROWS, FileReader
from nightdesk.sources.schema import FINITE_LIMIT, Column, Schema
from nightdesk.warehouse.clickhouse import Warehouse

# Compressions both fsspec's ``compression="infer"`` and the engine's ``file()`` infer
# from the suffix, so both paths read the same bytes.
_COMPRESSED = (".gz", ".bz2", ".xz")
# Suffixes the engine decompresses and pandas reads otherwise (as text, or only with a
# package Nightdesk does not install): such a file is the careful path's alone. Probed in
# chDB 4.4 (.zz, .z and any other suffix read as plain text).
_ENGINE_ONLY_COMPRESSED = (".gzip", ".deflate", ".br", ".brotli", ".lzma", ".zst", ".zstd", ".lz4", ".snappy")
# Every character Python's str.strip() removes (the validator strips text values).
_STRIPPED = "".join(chr(c) for c in range(0x110000) if chr(c).strip() == "")
_STRIPPED_SET = "(" + ", ".join("char(" + ", ".join(str(b) for b in c.encode()) + ")" for c in _STRIPPED) + ")"
_INT_TEXT = r"^[+-]?[0-9]+$"
_FLOAT_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# An offset beyond ±23:59 is refused: the engine would shift by it where pandas reads nothing.
_DATETIME_TEXT = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                  r"(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?$")
# The Date column's range; dates outside it are left to the careful path.
_DATE_RANGE = ("1970-01-02", "2149-06-05")
_ABORT = "nightdesk: not clean"
#: The most parts a load leaves for the target table to merge: half the engine's
#: ``parts_to_delay_insert`` (1,000 parts in one partition, where inserts start to wait).
#: About 2.5 GB of a flights-shaped file (20 columns) at the least; a larger one merges as it loads.
MAX_UNMERGED_PARTS = 500


def applicable(wh: Warehouse, reader: object, schema: Schema, logical_date: dt.date) -> Path | None:
    """The local file this path can load for ``reader``, or ``None``."""
    from nightdesk.settings import get_settings
    from nightdesk.sources import arrow_csv

    if not get_settings().embedded or not arrow_csv.applicable(reader, schema):
        return None
    assert isinstance(reader, FileReader)
    url = reader.resolved_url(logical_date).removeprefix("file://")
    if "://" in url or _GLOB.search(url) or url.lower().endswith((".zip", *_ENGINE_ONLY_COMPRESSED)):
        return None
    path = Path(url)
    return path if path.is_file() else None


@dataclass(frozen=True)
class Statement:
    """The engine path's work for one file, as SQL: ``select`` reads, types and checks the
    rows (it aborts at the first doubt); ``insert`` puts them in the table. Kept apart so
    benchmarks/load_throughput.py can time reading and checking without the insert."""

    select: str
    insert: str
    params: dict[str, object]
    settings: dict[str, object]
    #: The most parts the insert can write (``None`` where the file's size bounds nothing).
    max_parts: int | None


def statement(reader: FileReader, schema: Schema, logical_date: dt.date, path: Path, table: str,
              meta: dict[str, object]) -> Statement:
    """The statement that loads ``path``'s rows of ``logical_date`` into ``table``, each row
    stamped with ``meta``; raises :class:`NotClean` for a header only the careful path may judge."""
    header = _header(path, reader)
    renamed = [dict(reader.rename).get(name, name) for name in header]
    if len(set(renamed)) != len(renamed):
        raise NotClean(f"{path}: after renaming, two columns share a name")
    raw = dict(zip(renamed, header))  # schema name -> the file's header name
    date_names = [reader.date_column] if reader.date_column else list(reader.date_parts or ())
    missing = [name for name in [*schema.names, *date_names] if name not in raw]
    if missing:
        raise NotClean(f"{path}: columns {missing} are missing")
    raw_schema = {col.name: raw[col.name] for col in schema.columns}
    date_columns = [raw[name] for name in date_names]
    # Every column of the file is read: the careful path decodes the whole file, so bytes
    # that are not UTF-8 anywhere, or a row with no value at all, are its to judge.
    structure = ", ".join(f"{_quoted(name)} String" for name in header)
    # The inner query reads and types each value once (``t<i>``); the outer one checks
    # the texts (``r<i>``) and typed values and aborts at the first doubt.
    texts = {name: f"r{i}" for i, name in enumerate(header)}
    inner = [f"{_quoted(name)} AS {alias}" for name, alias in texts.items()]
    inner += [f"{_typed(col, texts[raw_schema[col.name]])} AS t{i}" for i, col in enumerate(schema.columns)]
    checks = [check for i, col in enumerate(schema.columns)
              for check in _checks(col, texts[raw_schema[col.name]], f"t{i}")]
    dated, keep = _on_date(reader, [texts[c] for c in date_columns])
    dated = [*_every_row(schema, raw_schema, texts, filtered=bool(date_columns)), *dated]
    select = ("SELECT " + ", ".join([f"t{i}" for i in range(len(schema.columns))]
                                    + [f"{{meta_{i}:String}}" for i in range(len(meta))] + ["now64(3)"])
              + f" FROM (SELECT {', '.join(inner)} FROM file({{path:String}}, {{format:String}}, {{structure:String}}))"
              # Every row's date must be readable; only the logical date's rows are checked
              # further (the careful path never judges the others). Evaluated in this order,
              # each condition only for the rows the ones before it kept (short-circuit).
              # A condition that comes out NULL (a date part beyond Int64) aborts too: NULL
              # would neither throw nor keep the row, and the row would vanish unreported.
              + f" WHERE throwIf(NOT ifNull({' AND '.join(dated) or '1'}, 0), '{_ABORT}') = 0 AND ({keep})"
              + f" AND throwIf(NOT ifNull({' AND '.join(checks) or '1'}, 0), '{_ABORT}') = 0")
    columns = ", ".join([*schema.names, *meta, "_loaded_at"])
    sep = _separator(reader)
    params: dict[str, object] = {"path": str(path), "structure": structure,
                                 "format": "CustomSeparatedWithNames" if sep == "\t" else "CSVWithNames",
                                 "date": logical_date.isoformat(), "limit": FINITE_LIMIT}
    params |= {f"meta_{i}": str(value) for i, value in enumerate(meta.values())}
    settings: dict[str, object] = {
        # The engine's CSV format refuses a tab: CustomSeparated with CSV quoting reads TSV
        # as pandas does (quotes honoured, no backslash escapes).
        **({"format_custom_escaping_rule": "CSV", "format_custom_field_delimiter": sep,
            "format_custom_row_after_delimiter": "\n"} if sep == "\t" else {"format_csv_delimiter": sep}),
        "format_csv_null_representation": f"\x01{uuid.uuid4().hex}",  # no \\N magic
        "input_format_csv_trim_whitespaces": 0,
        "format_csv_allow_single_quotes": 0,
        "input_format_csv_empty_as_default": 1,
        "input_format_csv_allow_variable_number_of_columns": 0,
        "input_format_skip_unknown_fields": 1,
        "precise_float_parsing": 1,
        "short_circuit_function_evaluation": "force_enable",
        # Memory bounded by the loader's chunk, not the file: the file is read, not mapped
        # (mapped pages count against the process), and inserted in parts of CHUNK_ROWS rows.
        "storage_file_read_method": "read",
        "min_insert_block_size_rows": CHUNK_ROWS,
        "min_insert_block_size_bytes": 0,
    }
    return Statement(select, f"INSERT INTO {table} ({columns}) {select}", params, settings,
                     _max_parts(path, len(header)))


def load(wh: Warehouse, reader: FileReader, schema: Schema, logical_date: dt.date, path: Path,
         table: str, meta: dict[str, object]) -> int:
    """Insert the file's rows of ``logical_date`` into ``table``; returns the rows inserted."""
    work = statement(reader, schema, logical_date, path, table, meta)
    # ``table`` is the loader's scratch copy, whose parts are swapped into the target
    # partition whole: merging them here only competes with the parsing for the cores
    # (about a tenth of a 10M-row load on two cores: docs/benchmarks.md), and the target
    # table merges them after the swap as it merges any insert. Only while the parts left
    # unmerged stay well below the engine's limits on parts in one partition.
    deferred = work.max_parts is not None and work.max_parts <= MAX_UNMERGED_PARTS
    if deferred:
        wh.command(f"SYSTEM STOP MERGES {table}")
    try:
        inserted = _insert(wh, work, table, path)
        if schema.primary_key and _has_duplicate(wh, table, schema):
            raise NotClean(f"{path}: a duplicate primary key")
    except NotClean:
        if deferred:  # the careful path writes its chunks into this table next
            wh.command(f"SYSTEM START MERGES {table}")
        raise
    return inserted


def _insert(wh: Warehouse, work: Statement, table: str, path: Path) -> int:
    try:
        before = int(wh.scalar(f"SELECT count() FROM {table}"))
        wh.command(work.insert, work.params, settings=work.settings)
        return int(wh.scalar(f"SELECT count() FROM {table}")) - before
    except Exception as exc:  # an abort, or a file the engine cannot read as the careful path would
        raise NotClean(f"{path}: {_first_line(exc)}") from exc


def _max_parts(path: Path, columns: int) -> int | None:
    """The most parts of :data:`CHUNK_ROWS` rows the file can fill: a row takes at least
    one byte a column (its separators and line end), so the size bounds the rows; a
    compressed file's size bounds nothing (:func:`applicable` leaves the engine no other
    compressed names)."""
    if path.name.lower().endswith(_COMPRESSED):
        return None
    return -(-path.stat().st_size // (columns * CHUNK_ROWS))


def _header(path: Path, reader: FileReader) -> list[str]:
    """The file's column names as the careful path reads them (pandas), so both agree on
    what is missing; a header that repeats a name is left to the careful path."""
    import pandas as pd

    sep = _separator(reader)
    try:
        names = list(pd.read_csv(path, nrows=0, dtype=str, sep=sep, encoding=reader.encoding,
                                 compression="infer").columns)
    except Exception as exc:
        raise NotClean(f"{path}: {_first_line(exc)}") from exc
    if any(re.search(r"\.\d+$", n) and n.rsplit(".", 1)[0] in names for n in names):
        raise NotClean(f"{path}: the header repeats a column name")
    return names


def _separator(reader: FileReader) -> str:
    default = "\t" if reader.format == "tsv" else ","
    return str(reader.read_options.get("sep", reader.read_options.get("delimiter", default)))


def _typed(col: Column, v: str) -> str:
    """The engine expression for ``col``'s value, from its text ``v``: ``NULL`` where the
    value is missing and where the text is not one of the type's (the checks tell the two
    apart). The ``...OrNull`` readers already read every missing-value token as ``NULL``."""
    return {
        "int": f"toInt64OrNull({v})",
        "float": f"toFloat64OrNull({v})",
        "str": f"if({_present(v)}, {v}, NULL)",
        "date": f"toDate32OrNull({v})",
        "datetime": f"if({_present(v)}, parseDateTime64BestEffortOrNull({v}, 0, 'UTC'), NULL)",
    }[col.type]


def _checks(col: Column, v: str, typed: str) -> list[str]:
    """Conditions every row must meet for the engine to vouch for ``col``'s value, from
    its text ``v`` and its typed value ``typed``.

    Each column costs one or two vectorised tests on the common row, as the checks are
    most of the load's time (benchmarks/load_throughput.py): a value that did not read is
    only then asked whether it is missing (``if`` evaluates its branches for their rows
    alone), and what the engine's reader refuses needs no second test. ``toInt64OrNull``
    reads exactly ``[+-]?[0-9]+`` within Int64, and ``toFloat64OrNull`` exactly the plain
    decimal forms plus ``inf``/``nan`` spellings, which a finite column's bound refuses (a
    column that allows infinity keeps the shape test); a date whose text is not its own
    ISO form was normalised or is not plain ISO 8601.
    """
    if col.type == "str":
        return [_text_check(col, v)]
    value = f"assumeNotNull({typed})"
    tests: list[str] = []
    if col.type == "float" and not col.finite:
        tests.append(f"match({v}, '{_FLOAT_TEXT}')")
    if col.type in ("int", "float"):
        tests += [f"{value} >= {col.min!r}"] if col.min is not None else []
        tests += [f"{value} <= {col.max!r}"] if col.max is not None else []
    if col.type == "float" and col.finite:
        tests.append("abs(" + value + ") <= {limit:Float64}")
    if col.type == "date":
        tests.append(f"toString({value}) = {v} AND {v} BETWEEN '{_DATE_RANGE[0]}' AND '{_DATE_RANGE[1]}'")
    if col.type == "datetime":  # the engine normalises 2013-02-31; the validator refuses it
        tests.append(f"match({v}, '{_DATETIME_TEXT}') AND "
                     f"toString(toDate32OrNull(substring({v}, 1, 10))) = substring({v}, 1, 10)")
    if not col.nullable:
        return [f"isNotNull({typed})", *tests]
    return [f"if(isNull({typed}), {_absent(v)}, {' AND '.join(tests) or '1'})"]


def _text_check(col: Column, v: str) -> str:
    """A text value: valid UTF-8, nothing the validator would strip at either end (an
    ASCII letter, digit or sign there is the common case and costs one byte test), and
    one of the allowed values where there is a list."""
    edges = (f"(ascii({v}) BETWEEN 33 AND 127 OR substringUTF8({v}, 1, 1) NOT IN {_STRIPPED_SET}) AND "
             f"(ascii(substring({v}, -1, 1)) BETWEEN 33 AND 127 OR substringUTF8({v}, -1, 1) NOT IN {_STRIPPED_SET})")
    test = f"isValidUTF8({v}) AND {edges}"
    if col.allowed is not None:
        allowed = ", ".join("'" + a.replace("\\", "\\\\").replace("'", "\\'") + "'" for a in col.allowed)
        test += f" AND {v} IN ({allowed})"
    return f"{_present(v)} AND {test}" if not col.nullable else f"({_absent(v)} OR {test})"


def _every_row(schema: Schema, raw_schema: dict[str, str], texts: dict[str, str], *, filtered: bool) -> list[str]:
    """Conditions on every row of the file, whichever day it holds: the careful path
    decodes the whole file and drops a row with no value at all, so either aborts here.

    Where every row is the logical date's (no date column), each schema column's own
    check already proves its text valid UTF-8 (a typed one: ASCII or missing), and a
    required column proves the row has a value; only the file's other columns are tested. Where rows are filtered by date, a row with no value
    has no date either and fails the date's test.
    """
    checked = set() if filtered else {raw_schema[c.name] for c in schema.columns}
    tests = [f"isValidUTF8({text})" for name, text in texts.items() if name not in checked]
    if not filtered and all(c.nullable for c in schema.columns):
        tests.append("NOT (" + " AND ".join(_absent(t) for t in texts.values()) + ")")
    return tests


def _on_date(reader: FileReader, columns: list[str]) -> tuple[list[str], str]:
    """(conditions every row's date must meet, the condition keeping the logical date's
    rows). A date the careful path cannot read passes on to be judged by the validator:
    here it aborts."""
    if reader.date_column:
        (v,) = columns
        return [f"match({v}, '{_DATE_TEXT}')", f"toString(toDate32OrNull({v})) = {v}"], f"{v} = {{date:String}}"
    if reader.date_parts:
        y, m, d = (f"toInt64OrNull({c})" for c in columns)
        built = f"makeDate32({y}, {m}, {d})"
        return ([f"match({c}, '{_INT_TEXT}')" for c in columns]
                + [f"{y} BETWEEN 1971 AND 2148", f"{m} BETWEEN 1 AND 12", f"{d} BETWEEN 1 AND 31",
                   f"toDayOfMonth({built}) = {d}"],
                f"{built} = toDate32({{date:String}})")
    return [], "1"


_MISSING = "(" + ", ".join("'" + token + "'" for token in NA_VALUES) + ")"


def _present(v: str) -> str:
    return f"({v} NOT IN {_MISSING})"


def _absent(v: str) -> str:
    return f"({v} IN {_MISSING})"


def _has_duplicate(wh: Warehouse, table: str, schema: Schema) -> bool:
    """Whether a primary key occurs twice in ``table``. A key of one required integer
    column is counted in a bitmap (its Int64 reinterpreted as UInt64, one to one), about
    a third of the GROUP BY's time on the benchmark's 10M rows; any other key is grouped."""
    key = schema.primary_key
    (first, *_) = [col for col in schema.columns if col.name == key[0]]
    if len(key) == 1 and first.type == "int" and not first.nullable:
        return bool(wh.scalar(f"SELECT groupBitmap(reinterpretAsUInt64({_quoted(first.name)})) != count() FROM {table}"))
    columns = ", ".join(_quoted(k) for k in key)
    return bool(wh.scalar(f"SELECT count() > 0 FROM (SELECT 1 FROM {table} GROUP BY {columns} HAVING count() > 1)"))


def _quoted(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    if _ABORT in text:
        return "a row the engine cannot vouch for"
    return (text.splitlines() or [type(exc).__name__])[0][:200]

