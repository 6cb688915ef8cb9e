"""Settings resolved from the environment, with embedded defaults that run on a laptop.

Everything a deployment changes is one environment variable; nothing here does I/O
at import time, so DAG files may import it while being parsed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE_DIR = PROJECT_ROOT / "warehouse"
TEXT_DECODINGS = ("locked", "figures", "free")
TEXT_ENGINES = ("continuous", "generate")

#: Each kind of declaration a deployment can add from its own folders, and the folder
#: that holds the project's own. ``NIGHTDESK_EXTRA_<KIND>`` lists extra folders
#: (os.pathsep-separated), read after the project's: e.g. ``NIGHTDESK_EXTRA_SOURCES``.
DECLARATION_DIRS = {
    "sources": WAREHOUSE_DIR / "sources",
    "migrations": WAREHOUSE_DIR / "migrations",
    "transforms": WAREHOUSE_DIR / "transforms",
    "expectations": WAREHOUSE_DIR / "expectations",
    "stories": PROJECT_ROOT / "stories",
}


@dataclass(frozen=True)
class Settings:
    """Where Nightdesk keeps its state and which services it talks to.

    :param data_dir: root of every embedded store (chDB warehouse, demo databases,
        reports, media). ``NIGHTDESK_DATA_DIR``; default ``<project>/var``.
    :param clickhouse_url: a ClickHouse server (``http(s)://user:pass@host:port``).
        Empty means the embedded chDB engine under ``data_dir/clickhouse``.
        ``CLICKHOUSE_URL``.
    :param clickhouse_cluster: the ClickHouse cluster the server belongs to; when set,
        migrations create replicated tables behind Distributed ones on every node
        (``nightdesk/warehouse/topology.py``). Empty means one server. Needs
        ``clickhouse_url``. ``NIGHTDESK_CLICKHOUSE_CLUSTER``.
    :param clickhouse_database: database holding every Nightdesk table.
        ``NIGHTDESK_CH_DATABASE``; default ``nightdesk``.
    :param ops_db_url: SQLAlchemy URL of the operational database the flights source
        reads. ``NIGHTDESK_OPS_DB_URL``; default a SQLite file seeded by ``nightdesk init``.
    :param warehouse_lock_timeout: seconds to wait for the embedded warehouse lock
        before failing with the holder's name. ``NIGHTDESK_WAREHOUSE_LOCK_TIMEOUT``.
    :param text_model: causal LM for text drafts: ``smollm2`` (bundled, offline), a hub id
        or a local path; ``template`` writes every draft with the data-to-text templates.
        ``NIGHTDESK_TEXT_MODEL``.
    :param text_decoding: how a model samples a text: ``locked`` (default) can write no
        digit and no number word outside its fact sheet's figures as written, and no
        capitalised word that is neither the sheet's nor a common word
        (``generators/fact_lock.py``); ``figures`` locks figures and number words only;
        ``free`` is unconstrained, kept to compare with. Measured with
        benchmarks/draft_quality.py (SmolLM2, 2013-02-28 and 2013-03-01, 48 first-attempt
        drafts, same seeds): free 14/48 passed, figures 18/48, locked 24/48 (drafts with
        an unbacked name 15, 13, 5). ``NIGHTDESK_TEXT_DECODING``.
    :param text_engine: how a model's requests are decoded: ``continuous`` (default) keeps
        ``text_batch_size`` slots full, refilling each as its request finishes, with a KV
        cache allocated once (``generators/text_engine.py``); ``generate`` is transformers'
        ``model.generate`` per batch, kept to compare with. ``NIGHTDESK_TEXT_ENGINE``.
    :param image_model: diffusers text-to-image model (hub id or local path); empty means
        covers are charts of the story's key figures. ``NIGHTDESK_IMAGE_MODEL``.
    :param media_url: fsspec URL where images are stored by content hash.
        ``NIGHTDESK_MEDIA_URL``; default ``<data_dir>/media``.
    :param seed: base seed of every generation (per story and attempt it is derived from
        this). ``NIGHTDESK_SEED``.
    :param text_batch_size: requests decoded together: the continuous engine's slots, or
        prompts per ``generate`` call. ``NIGHTDESK_TEXT_BATCH_SIZE``.
    :param image_batch_size: images per pipeline call. ``NIGHTDESK_IMAGE_BATCH_SIZE``.
    :param image_size: cover width and height for diffusion models. ``NIGHTDESK_IMAGE_SIZE``.
    :param image_steps: diffusion steps. ``NIGHTDESK_IMAGE_STEPS``.
    :param output_url: fsspec URL of the published site (pages, feeds, covers).
        ``NIGHTDESK_OUTPUT_URL``; default ``<data_dir>/public``.
    :param site_url: the public address the site at ``output_url`` is served from, an
        absolute http(s) URL ending with ``/`` (added when missing); every link in the
        feeds, the newsletter and the social posts starts with it. ``NIGHTDESK_SITE_URL``;
        empty means unset, which only the demo allows (see :meth:`site_base_url`).
    :param content_retry_delay: how long a failed content task waits before its retry, which
        resumes from what the warehouse holds: the wait only lets a transient fault (a
        restarted server, a lost worker) clear. ``NIGHTDESK_RETRY_DELAY_S``; default 60 s.
    :param earliest_date: the first logical date the pipeline runs for; an earlier date
        fails at once. ``NIGHTDESK_EARLIEST_DATE``; default 2013-01-01 (the demo data's first day).
    :param extra_dirs: per kind of declaration (sources, migrations, transforms,
        expectations, stories), extra folders read after the project's own, so a deployment
        adds a source and its stories with files only. ``NIGHTDESK_EXTRA_SOURCES``,
        ``NIGHTDESK_EXTRA_MIGRATIONS``, ``NIGHTDESK_EXTRA_TRANSFORMS``,
        ``NIGHTDESK_EXTRA_EXPECTATIONS``, ``NIGHTDESK_EXTRA_STORIES`` (os.pathsep-separated).
    :param device_prices_path: the price per device-hour file loaded into ``device_prices``
        on every init and ELT run. ``NIGHTDESK_DEVICE_PRICES``; default ``warehouse/device_prices.yml``.
    """

    data_dir: Path
    clickhouse_url: str
    clickhouse_cluster: str
    clickhouse_database: str
    ops_db_url: str
    warehouse_lock_timeout: float
    text_model: str
    text_decoding: str
    text_engine: str
    image_model: str
    media_url: str
    seed: int
    text_batch_size: int
    image_batch_size: int
    image_size: int
    image_steps: int
    output_url: str
    site_url: str
    content_retry_delay: dt.timedelta
    earliest_date: dt.date
    extra_dirs: dict[str, tuple[Path, ...]]
    device_prices_path: Path = WAREHOUSE_DIR / "device_prices.yml"

    @property
    def embedded(self) -> bool:
        """True when the warehouse is the in-process chDB engine."""
        return not self.clickhouse_url

    @property
    def chdb_path(self) -> Path:
        return self.data_dir / "clickhouse"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def site_base_url(self, output_url: str | None = None) -> str:
        """Where the published links point: ``site_url``, or in the demo the output folder.

        The demo (embedded warehouse, local output folder) has no web server, so its links
        are ``file://`` URLs of the folder and open from disk. Anywhere else a missing
        address would put unusable links in every feed and newsletter, so it is an error.

        :param output_url: the site's folder when not ``self.output_url``.
        :raises ValueError: ``NIGHTDESK_SITE_URL`` is unset outside the demo.
        """
        if self.site_url:
            return self.site_url
        output_url = output_url or self.output_url
        local = "://" not in output_url or output_url.startswith("file://")
        if self.embedded and local:
            return Path(output_url.removeprefix("file://")).resolve().as_uri() + "/"
        raise ValueError(
            "NIGHTDESK_SITE_URL is not set: publishing needs the public address the site is served from "
            f"(e.g. https://news.example.com/) for the links in its feeds, newsletter and social posts; "
            f"only the demo (embedded warehouse, local NIGHTDESK_OUTPUT_URL) links to the output folder instead "
            f"(here CLICKHOUSE_URL is {'set' if not self.embedded else 'empty'} and NIGHTDESK_OUTPUT_URL is "
            f"{output_url!r})")

    def declaration_dirs(self, kind: str) -> tuple[Path, ...]:
        """The project's folder of ``kind`` declarations, then the deployment's extra ones."""
        return (DECLARATION_DIRS[kind], *self.extra_dirs[kind])


def get_settings() -> Settings:
    """Read settings from the environment now (not cached: tests and tasks change it)."""
    data_dir = Path(os.environ.get("NIGHTDESK_DATA_DIR", PROJECT_ROOT / "var")).resolve()
    return Settings(
        data_dir=data_dir,
        clickhouse_url=os.environ.get("CLICKHOUSE_URL", ""),
        clickhouse_cluster=_cluster(),
        clickhouse_database=os.environ.get("NIGHTDESK_CH_DATABASE", "nightdesk"),
        ops_db_url=os.environ.get("NIGHTDESK_OPS_DB_URL", f"sqlite:///{data_dir / 'ops.sqlite'}"),
        warehouse_lock_timeout=float(os.environ.get("NIGHTDESK_WAREHOUSE_LOCK_TIMEOUT", "600")),
        text_model=os.environ.get("NIGHTDESK_TEXT_MODEL", "smollm2"),
        text_decoding=_choice("NIGHTDESK_TEXT_DECODING", "locked", TEXT_DECODINGS),
        text_engine=_choice("NIGHTDESK_TEXT_ENGINE", "continuous", TEXT_ENGINES),
        image_model=os.environ.get("NIGHTDESK_IMAGE_MODEL", ""),
        media_url=os.environ.get("NIGHTDESK_MEDIA_URL", str(data_dir / "media")),
        seed=int(os.environ.get("NIGHTDESK_SEED", "20130301")),
        # 8 prompts per call: on 2 CPU cores larger batches gain little (benchmarks/text_throughput.py).
        text_batch_size=int(os.environ.get("NIGHTDESK_TEXT_BATCH_SIZE", "8")),
        image_batch_size=int(os.environ.get("NIGHTDESK_IMAGE_BATCH_SIZE", "4")),
        image_size=int(os.environ.get("NIGHTDESK_IMAGE_SIZE", "512")),
        image_steps=int(os.environ.get("NIGHTDESK_IMAGE_STEPS", "1")),
        output_url=os.environ.get("NIGHTDESK_OUTPUT_URL", str(data_dir / "public")),
        site_url=_site_url("NIGHTDESK_SITE_URL"),
        content_retry_delay=dt.timedelta(seconds=float(os.environ.get("NIGHTDESK_RETRY_DELAY_S", "60"))),
        earliest_date=_date("NIGHTDESK_EARLIEST_DATE", "2013-01-01"),
        extra_dirs={kind: _paths(f"NIGHTDESK_EXTRA_{kind.upper()}") for kind in DECLARATION_DIRS},
        device_prices_path=Path(os.environ.get("NIGHTDESK_DEVICE_PRICES", WAREHOUSE_DIR / "device_prices.yml")),
    )


def _cluster() -> str:
    cluster = os.environ.get("NIGHTDESK_CLICKHOUSE_CLUSTER", "").strip()
    if cluster and not os.environ.get("CLICKHOUSE_URL"):
        raise ValueError(f"NIGHTDESK_CLICKHOUSE_CLUSTER={cluster!r} needs CLICKHOUSE_URL: "
                         "the embedded engine is one process, never a cluster")
    return cluster


def _date(variable: str, default: str) -> dt.date:
    text = os.environ.get(variable, default)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{variable}={text!r} is not a date like 2013-01-01") from None


def _site_url(variable: str) -> str:
    """An absolute http(s) URL with no credentials, query or fragment, ending with ``/``; or empty."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ValueError(f"{variable}={text!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValueError(f"{variable}={text!r} is not an absolute http(s) URL like https://news.example.com/")
    if parts.username is not None or parts.query or parts.fragment or any(c.isspace() for c in text):
        raise ValueError(f"{variable}={text!r}: a site address has no credentials, query, fragment or spaces")
    return text if text.endswith("/") else text + "/"


def _paths(variable: str) -> tuple[Path, ...]:
    return tuple(Path(p).resolve() for p in os.environ.get(variable, "").split(os.pathsep) if p.strip())


def _choice(variable: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(variable, default)
    if value not in allowed:
        raise ValueError(f"{variable}={value!r} is not one of {', '.join(allowed)}")
    return value
