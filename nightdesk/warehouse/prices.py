"""Device prices: ``warehouse/device_prices.yml`` (or ``NIGHTDESK_DEVICE_PRICES``) -> ``device_prices``.

Prices are configuration, so they live in a file a deployment edits, and the warehouse
holds a copy analysts can join to ``generation_log.device``. Loading is idempotent: only
entries whose price differs from what the table holds (FINAL) are written, so loading the
same file on every run adds nothing, and a changed price replaces the old one for the same
``(device, effective_from)`` (ReplacingMergeTree on ``updated_at``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from nightdesk.settings import get_settings
from nightdesk.warehouse.clickhouse import Warehouse


class DevicePricesError(ValueError):
    """The prices file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class DevicePrice:
    device: str
    usd_per_hour: float
    effective_from: dt.date


def read_prices(path: Path) -> list[DevicePrice]:
    """The entries of a prices file, validated: a bad entry is an error naming it."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DevicePricesError(f"cannot read device prices {path}: {exc}") from exc
    entries = doc.get("prices") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise DevicePricesError(f"{path}: expected a top-level 'prices:' list")
    prices: dict[tuple[str, dt.date], DevicePrice] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: prices entry {number}"
        if not isinstance(entry, dict) or set(entry) != {"device", "usd_per_hour", "effective_from"}:
            raise DevicePricesError(f"{where}: needs exactly device, usd_per_hour, effective_from; got {entry!r}")
        device, price, since = entry["device"], entry["usd_per_hour"], entry["effective_from"]
        if not isinstance(device, str) or not device.strip():
            raise DevicePricesError(f"{where}: device must be a non-empty name, got {device!r}")
        if isinstance(price, bool) or not isinstance(price, int | float) or not 0 <= price < 1e6:
            raise DevicePricesError(f"{where} ({device}): usd_per_hour must be a number from 0, got {price!r}")
        if not isinstance(since, dt.date):
            raise DevicePricesError(f"{where} ({device}): effective_from must be a date like 2026-01-01, got {since!r}")
        if (device, since) in prices:
            raise DevicePricesError(f"{where}: {device} from {since} is listed twice")
        prices[(device, since)] = DevicePrice(device, float(price), since)
    return list(prices.values())


def load_device_prices(wh: Warehouse, path: Path | None = None) -> int:
    """Write the file's prices that the table lacks or holds at another price; returns rows written."""
    import pandas as pd

    path = path or get_settings().device_prices_path
    wanted = read_prices(path)
    held = {(d, f): p for d, f, p in wh.query_rows(
        "SELECT device, effective_from, usd_per_hour FROM device_prices FINAL")}
    changed = [p for p in wanted if held.get((p.device, p.effective_from)) != p.usd_per_hour]
    now = pd.Timestamp.now(tz="UTC")
    return wh.insert_df("device_prices", pd.DataFrame(
        [{"device": p.device, "usd_per_hour": p.usd_per_hour, "effective_from": p.effective_from, "updated_at": now}
         for p in changed]))
