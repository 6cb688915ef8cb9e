"""Run the SQL models under ``warehouse/transforms`` for one logical date, in dependency order.

A model is a ``.sql`` file whose header declares it (SQLMesh style)::

    -- model: mart_carrier_daily
    -- depends_on: stg_flights, stg_airlines

and whose body is a ``SELECT`` with a ``{logical_date:Date}`` parameter that yields
exactly that date's rows of the model's table. The runner fills a scratch copy of the
table and swaps the date's partition in, so a rerun replaces the day and a failing
model leaves yesterday's good data untouched.

Models live in ``warehouse/transforms/<layer>/`` and in the folders named by
``NIGHTDESK_EXTRA_TRANSFORMS`` (same layout). A model reads raw tables directly or
through other models; on a date when every source behind those raw tables is absent
(not due, or an allowed empty day) the model is not run: its partition for the date is
cleared, so the marts hold exactly what the present sources support.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import re
from dataclasses import dataclass
from pathlib import Path

from nightdesk.warehouse.clickhouse import Warehouse, WarehouseError, check_identifier
from nightdesk.settings import DECLARATION_DIRS, get_settings
from nightdesk.sources.presence import DayLoads, day_loads
TRANSFORMS_DIR = DECLARATION_DIRS["transforms"]
_HEADER = re.compile(r"^--\s*(model|depends_on|grain):\s*(.*)$")


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    depends_on: tuple[str, ...]
    sql: str
    path: Path


def parse_model(path: Path) -> Model:
    """Read a model file's header; a file without ``-- model:`` is an error naming it."""
    sql = path.read_text()
    header: dict[str, str] = {}
    for line in sql.splitlines():
        match = _HEADER.match(line.strip())
        if match:
            header[match.group(1)] = match.group(2).strip()
    if "model" not in header:
        raise WarehouseError(f"{path}: missing '-- model: <table>' header")
    if header["model"] != path.stem:
        raise WarehouseError(f"{path}: header names model {header['model']!r} but the file is {path.stem!r}")
    deps = tuple(d.strip() for d in header.get("depends_on", "").split(",") if d.strip())
    return Model(check_identifier(header["model"]), path.parent.name, deps, sql, path)


def discover(*directories: Path) -> list[Model]:
    """All models (of ``directories``, default the project's and the extra folders),
    ordered so each runs after the models it depends on."""
    models: dict[str, Model] = {}
    for directory in directories or get_settings().declaration_dirs("transforms"):
        for model in (parse_model(p) for p in sorted(directory.rglob("*.sql"))):
            if model.name in models:
                raise WarehouseError(f"{model.path}: model {model.name!r} is already defined in {models[model.name].path}")
            models[model.name] = model
    graph = {name: {d for d in m.depends_on if d in models} for name, m in models.items()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise WarehouseError(f"transform models form a cycle: {' -> '.join(exc.args[1])}") from exc
    return [models[name] for name in order]


def raw_inputs(models: list[Model]) -> dict[str, frozenset[str]]:
    """Per model, the tables it reads that no model builds (raw tables), directly or not."""
    by_name = {m.name: m for m in models}
    inputs: dict[str, frozenset[str]] = {}
    for model in models:  # dependency order: a model's upstream models are done first
        inputs[model.name] = frozenset().union(
            *(inputs[d] if d in by_name else {d} for d in model.depends_on))
    return inputs


def run_model(wh: Warehouse, model: Model, logical_date: dt.date) -> int:
    """Rebuild ``model``'s partition for ``logical_date``; returns its row count."""
    params = {"logical_date": logical_date}
    with wh.scratch_table(model.name) as scratch:
        wh.command(f"INSERT INTO {scratch}\n{model.sql}", params)
        wrong = wh.scalar(
            f"SELECT count() FROM {scratch} WHERE _partition_id != {{pid:String}}",
            {"pid": logical_date.strftime("%Y%m%d")},
        )
        if wrong:
            raise WarehouseError(
                f"model {model.name} ({model.path}) produced {wrong} rows outside {logical_date}: "
                "a model may only write its logical date's partition"
            )
        wh.swap_partition(model.name, f"'{logical_date.isoformat()}'", scratch)
    return int(wh.scalar("SELECT count() FROM {t:Identifier} WHERE _partition_id = {pid:String}",
                         {"t": model.name, "pid": logical_date.strftime("%Y%m%d")}))


def clear_model(wh: Warehouse, model: Model, logical_date: dt.date) -> None:
    """Empty ``model``'s partition for the date (a rerun after a source went absent)."""
    with wh.scratch_table(model.name) as empty:
        wh.swap_partition(model.name, f"'{logical_date.isoformat()}'", empty)


def run_layer(wh: Warehouse, layer: str, logical_date: dt.date, loads: DayLoads | None = None) -> dict[str, int | str]:
    """Build every model of one layer (``staging`` or ``marts``) for a date, in order.

    Returns rows per model built, and ``"no rows: <why>"`` per model whose sources are
    all absent that day (see :mod:`nightdesk.sources.presence`).
    """
    loads = loads or day_loads(wh, logical_date)
    models = discover()
    inputs = raw_inputs(models)
    built: dict[str, int | str] = {}
    for model in (m for m in models if m.layer == layer):
        absent = loads.absence(inputs[model.name])
        if absent:
            clear_model(wh, model, logical_date)
            built[model.name] = f"no rows: {absent}"
        else:
            built[model.name] = run_model(wh, model, logical_date)
    return built
