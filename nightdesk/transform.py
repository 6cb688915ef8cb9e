"""Run the SQL models under ``warehouse/transforms`` for one logical date, in dependency order.

A model is a ``.sql`` file whose header declares it (SQLMesh style)::

    -- model: mart_carrier_daily
    -- depends_on: stg_flights, stg_airlines

and whose body is a ``SELECT`` with a ``{logical_date:Date}`` parameter that yields
exactly that date's rows of the model's table. The runner fills a scratch copy of the
table and swaps the date's partition in, so a rerun replaces the day and a failing
model leaves yesterday's good data untouched.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import re
from dataclasses import dataclass
from pathlib import Path

from nightdesk.clickhouse import Warehouse, WarehouseError, check_identifier
from nightdesk.settings import WAREHOUSE_DIR

TRANSFORMS_DIR = WAREHOUSE_DIR / "transforms"
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


def discover(directory: Path = TRANSFORMS_DIR) -> list[Model]:
    """All models, ordered so each runs after the models it depends on."""
    models = {m.name: m for m in (parse_model(p) for p in sorted(directory.rglob("*.sql")))}
    graph = {name: {d for d in m.depends_on if d in models} for name, m in models.items()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise WarehouseError(f"transform models form a cycle: {' -> '.join(exc.args[1])}") from exc
    return [models[name] for name in order]


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


def run_layer(wh: Warehouse, layer: str, logical_date: dt.date) -> dict[str, int]:
    """Run every model of one layer (``staging`` or ``marts``) for a date, in order."""
    return {m.name: run_model(wh, m, logical_date) for m in discover() if m.layer == layer}
