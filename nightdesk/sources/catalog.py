"""Sources declared as files: one YAML file per source, validated before any I/O.

Each ``<name>.yml`` in ``warehouse/sources/`` (and in the folders named by
``NIGHTDESK_EXTRA_SOURCES``) declares one source: its reader (``sql``, ``file`` or
``http``), the raw table it lands in, its schema, which column dates each row, its
calendar and what a due day with no rows means. The file's name is the source's name.
docs/add-a-source.md walks through one end to end; docs/calendars.md covers calendars
and empty days.

Every path or URL can be overridden from the environment: ``NIGHTDESK_SOURCE_<NAME>_URL``
replaces the reader's ``url`` (e.g. ``NIGHTDESK_SOURCE_WEATHER_URL=s3://bucket/weather.csv``).
A relative file path is relative to the YAML file, so a source folder can carry its data.

A mistake is a :class:`SourceConfigError` naming the file, the line and the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nightdesk.sources.calendars import WEEKDAYS, Calendar, EmptyDay, check_holiday_calendar
from nightdesk.sources.event_dates import GRAIN_CALENDAR, EventDate, PeriodReader
from nightdesk.sources.readers import FileReader, HttpJsonReader, Reader, SqlReader
from nightdesk.sources.schema import Column, Schema


class SourceConfigError(ValueError):
    """A source file is invalid; the message names the file, line and key."""


@dataclass(frozen=True)
class Source:
    """A named source: where it is read from, what its rows must look like, where they land,
    and on which dates it is due.

    Write disposition is always "replace the logical date's partition"; the primary key
    is the schema's.
    """

    name: str
    table: str
    schema: Schema
    reader: Reader
    calendar: Calendar = field(default_factory=Calendar)
    when_empty: EmptyDay = field(default_factory=EmptyDay)


# -- the file format (pydantic models: unknown keys and wrong types are errors) ------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ColumnSpec(_Strict):
    type: Literal["int", "float", "str", "date", "datetime"]
    nullable: bool | None = None
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None
    finite: bool | None = None


class _SchemaSpec(_Strict):
    columns: dict[str, _ColumnSpec | Literal["int", "float", "str", "date", "datetime"]]
    primary_key: list[str] = []

    @model_validator(mode="after")
    def _key_is_declared(self) -> _SchemaSpec:
        unknown = [k for k in self.primary_key if k not in self.columns]
        if unknown:
            raise ValueError(f"primary_key names undeclared columns {unknown}")
        return self


class _SqlSpec(_Strict):
    query: str = Field(description="a .sql file in nightdesk/sources/queries taking :logical_date")
    url: str | None = None


class _FileSpec(_Strict):
    url: str
    format: str | None = None
    encoding: str | None = None
    rename: dict[str, str] | None = None
    read_options: dict[str, Any] | None = None


class _HttpSpec(_Strict):
    url: str
    params: dict[str, str | int] | None = None
    items_path: str | None = None
    page_param: str | None = None
    page_size_param: str | None = None
    page_size: int | None = None
    first_page: int | None = None
    next_path: str | None = None
    timeout: tuple[float, float] | None = None
    attempts: int | None = None
    backoff: tuple[float, float] | None = None
    token_env: str | None = None
    max_pages: int | None = None


class _ReaderSpec(_Strict):
    sql: _SqlSpec | None = None
    file: _FileSpec | None = None
    http: _HttpSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _ReaderSpec:
        given = [k for k in ("sql", "file", "http") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"needs exactly one of sql, file, http (got {given or 'none'})")
        return self


class _EventDateSpec(_Strict):
    column: str | None = None
    year: str | None = None
    month: str | None = None
    week: str | None = None
    day: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> _EventDateSpec:
        parts = {k for k in ("year", "month", "week", "day") if getattr(self, k)}
        if bool(self.column) == bool(parts):
            raise ValueError("give either column, or year with month/week/day columns")
        if parts and parts not in ({"year"}, {"year", "month"}, {"year", "week"}, {"year", "month", "day"}):
            raise ValueError(f"parts {sorted(parts)}: use year; year+month; year+week; or year+month+day")
        return self


class _CalendarSpec(_Strict):
    kind: Literal["daily", "weekdays", "weekly", "monthly", "yearly", "whenever"] = "daily"
    weekday: Literal[WEEKDAYS] | None = None  # type: ignore[valid-type]
    day: int = Field(1, ge=1, le=28)
    month: int = Field(1, ge=1, le=12)
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _weekday_for_weekly(self) -> _CalendarSpec:
        if (self.kind == "weekly") != (self.weekday is not None):
            raise ValueError("weekday is required for kind weekly, and only for it")
        return self


class _EmptySpec(_Strict):
    policy: Literal["fail", "warn", "expected_on_holidays"] = "fail"
    holidays: str | None = None

    @model_validator(mode="after")
    def _holidays_named(self) -> _EmptySpec:
        if (self.policy == "expected_on_holidays") != (self.holidays is not None):
            raise ValueError("holidays (an exchange calendar such as XNYS) goes with policy expected_on_holidays only")
        if self.holidays:
            check_holiday_calendar(self.holidays)
        return self


class _SourceSpec(_Strict):
    description: str = ""
    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    reader: _ReaderSpec
    schema_: _SchemaSpec = Field(alias="schema")
    event_date: _EventDateSpec | None = None
    calendar: _CalendarSpec = _CalendarSpec()
    when_empty: _EmptySpec = _EmptySpec()


# -- loading ---------------------------------------------------------------------------------

def source_dirs() -> tuple[Path, ...]:
    from nightdesk.settings import get_settings

    return get_settings().declaration_dirs("sources")


def source_names(dirs: tuple[Path, ...] | None = None) -> list[str]:
    """The declared sources' names, from file names alone: cheap enough for DAG parsing."""
    return sorted(p.stem for p in _files(dirs or source_dirs()))


def load_sources(dirs: tuple[Path, ...] | None = None) -> dict[str, Source]:
    """Every declared source, validated; the first error names its file, line and key."""
    return {path.stem: load_source_file(path) for path in sorted(_files(dirs or source_dirs()), key=lambda p: p.stem)}


_SOURCE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def load_source_file(path: Path) -> Source:
    """One source file, validated and built."""
    import yaml

    if not _SOURCE_NAME.fullmatch(path.stem):
        # The name is the file's: it becomes a partition key, a task id and part of the
        # NIGHTDESK_SOURCE_<NAME>_URL variable, so it must be a plain identifier.
        raise SourceConfigError(f"{path}: the source name {path.stem!r} (the file name) must match "
                                f"{_SOURCE_NAME.pattern} (lower-case letters, digits, underscores)")
    text = path.read_text()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SourceConfigError(f"{path}: expected a mapping of keys (table, reader, schema, ...), "
                                f"got {type(doc).__name__}")
    try:
        spec = _SourceSpec.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        raise SourceConfigError(f"{path}:{_line(text, loc)}: {'.'.join(loc) or '(top level)'}: {first['msg']}"
                                f" (value: {_shown(first.get('input'))})") from None
    try:
        return _build(path, spec)
    except (TypeError, ValueError) as exc:
        raise SourceConfigError(f"{path}: {exc}") from None


def _files(dirs: tuple[Path, ...]) -> list[Path]:
    seen: dict[str, Path] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.yml")):
            if path.stem in seen:
                raise SourceConfigError(f"{path}: source {path.stem!r} is already declared in {seen[path.stem]}")
            seen[path.stem] = path
    return list(seen.values())


def _build(path: Path, spec: _SourceSpec) -> Source:
    name = path.stem
    schema = Schema(
        columns=tuple(_column(col, s) for col, s in spec.schema_.columns.items()),
        primary_key=tuple(spec.schema_.primary_key),
    )
    calendar = Calendar(**spec.calendar.model_dump())
    event_date = _event_date(spec.event_date)
    if event_date and event_date.grain != "day":
        _check_grain_calendar(event_date, calendar)
    return Source(name=name, table=spec.table, schema=schema, reader=_reader(path, name, spec.reader, event_date),
                  calendar=calendar, when_empty=EmptyDay(**spec.when_empty.model_dump()))


def _column(name: str, spec: _ColumnSpec | str) -> Column:
    if isinstance(spec, str):
        return Column(name, spec)
    given = spec.model_dump(exclude_none=True)
    if "allowed" in given:
        given["allowed"] = tuple(given["allowed"])
    return _construct(Column, f"schema.columns.{name}", name=name, **given)


def _event_date(spec: _EventDateSpec | None) -> EventDate | None:
    if spec is None:
        return None
    parts = tuple((k, getattr(spec, k)) for k in ("year", "month", "week", "day") if getattr(spec, k))
    return EventDate(column=spec.column, parts=parts)


def _check_grain_calendar(event_date: EventDate, calendar: Calendar) -> None:
    kind, on = GRAIN_CALENDAR[event_date.grain]
    actual = {"weekly": calendar.weekday, "monthly": calendar.day, "yearly": (calendar.month, calendar.day)}.get(calendar.kind)
    if calendar.kind != "whenever" and (calendar.kind, actual) != (kind, on):
        raise ValueError(f"event_date: rows dated by {event_date.grain} belong to the first day of their "
                         f"{event_date.grain}, so calendar must be kind {kind} on {on} (or whenever); "
                         f"it is {calendar.kind}")


def _reader(path: Path, name: str, spec: _ReaderSpec, event_date: EventDate | None) -> Reader:
    override = os.environ.get(f"NIGHTDESK_SOURCE_{name.upper()}_URL")
    if spec.sql:
        given = spec.sql.model_dump(exclude_none=True)
        if (path.parent / given["query"]).is_file():  # a query beside the source file: files only
            given["query"] = str((path.parent / given["query"]).resolve())
        if override:
            given["url"] = override
        reader: Reader = _construct(SqlReader, "reader.sql", **given)
        return PeriodReader(reader, event_date) if event_date else reader
    if spec.http:
        given = spec.http.model_dump(exclude_none=True)
        given["url"] = override or given["url"]
        reader = _construct(HttpJsonReader, "reader.http", **given)
        return PeriodReader(reader, event_date) if event_date else reader
    assert spec.file is not None
    given = spec.file.model_dump(exclude_none=True)
    given["url"] = _file_url(path, override or given["url"])
    if event_date and event_date.grain == "day":
        # The file reader filters a daily file itself.
        if event_date.column:
            given["date_column"] = event_date.column
        else:
            given["date_parts"] = tuple(col for _, col in event_date.parts)
        return _construct(FileReader, "reader.file", **given)
    reader = _construct(FileReader, "reader.file", **given)
    return PeriodReader(reader, event_date) if event_date else reader


def _file_url(path: Path, url: str) -> str:
    """A plain relative path is relative to the source file's folder."""
    if "://" in url or Path(url).is_absolute():
        return url
    return str((path.parent / url).resolve())


def _construct(cls: type, where: str, **kwargs: Any) -> Any:
    """``cls(**kwargs)``, with an unsupported key named as the file's key."""
    accepted = {f.name for f in dataclasses.fields(cls)}
    unsupported = sorted(set(kwargs) - accepted)
    if unsupported:
        raise ValueError(f"{where}.{unsupported[0]}: not supported by this version's {cls.__name__}")
    return cls(**kwargs)


def _line(text: str, loc: list[str]) -> int:
    """1-based line of the deepest key of ``loc`` found in the YAML text (1 if none)."""
    import yaml

    node = yaml.compose(text)
    line = 0
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == key), None)
            if match is None:
                break
            line, node = match[0].start_mark.line, match[1]
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
            node = node.value[int(key)]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def __getattr__(name: str) -> Any:
    """``FLIGHTS``, ``STOCK_PRICES``, ...: a demo source's schema by its upper-case name
    (tests and benchmarks build their own sources on them)."""
    if name.isupper():
        from nightdesk.settings import DECLARATION_DIRS

        sources = load_sources((DECLARATION_DIRS["sources"],))
        if name.lower() in sources:
            return sources[name.lower()].schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
