"""What the GPU worker has: versions at start, and the shipped wheels for what it lacks.

A GPU worker's Python has torch and transformers only; diffusers, llguidance and the
night path's pandas ship beside the script as wheels (``scripts/gpu_wheels.sh``). They
are unpacked into a temporary folder put first on ``sys.path``: a wheel is a zip of an
importable tree, so this needs neither pip nor a network, and compiled wheels (Pillow,
llguidance) work where zip imports would not.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys
import tempfile
import zipfile
from pathlib import Path

#: Modules the script imports beyond torch and transformers, and the wheel that brings each.
NEEDED = {"diffusers": "diffusers", "llguidance": "llguidance", "pandas": "pandas", "PIL": "pillow"}


class MissingDependency(RuntimeError):
    """A needed package is neither installed nor in the wheels folder; the message says which and how to ship it."""


def add_wheels(folder: Path) -> Path:
    """Unpack every wheel of ``folder`` into a temporary folder first on ``sys.path``; returns it."""
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise MissingDependency(f"--wheels {folder}: no *.whl files there (build them with scripts/gpu_wheels.sh)")
    target = Path(tempfile.mkdtemp(prefix="nightdesk-gpu-wheels-"))
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    return target


#: The oldest transformers whose continuous batching this script calls (``generate_batch``
#: with a ``ContinuousBatchingConfig``, ``persistent_manager``).
MIN_TRANSFORMERS = 5


def require(wheels: Path | None) -> None:
    """Fail clearly, before any work, if a needed package cannot be imported or is too old."""
    import transformers

    major = int(transformers.__version__.split(".")[0])
    if major < MIN_TRANSFORMERS:
        raise MissingDependency(f"transformers {transformers.__version__} found; this benchmark needs "
                                f">= {MIN_TRANSFORMERS} (its generate_batch API)")
    missing = [name for module, name in NEEDED.items() if not _importable(module)]
    if missing:
        hint = (f"the wheels in {wheels} do not provide them" if wheels
                else "pass --wheels DIR with the wheels built by scripts/gpu_wheels.sh for this worker's Python")
        raise MissingDependency(f"missing packages: {', '.join(missing)}; {hint}")


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def versions() -> dict[str, str]:
    """Versions of the packages whose figures this run depends on, as found at start."""
    found = {}
    for name in ("torch", "transformers", "diffusers", "llguidance", "pandas"):
        try:
            found[name] = importlib.import_module(name).__version__
        except (ImportError, AttributeError):
            try:
                found[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                found[name] = "missing"
    return found


def device_name(device: str) -> str:
    import os

    import torch

    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB), CUDA {torch.version.cuda}"
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def python() -> str:
    return f"{platform.python_implementation()} {platform.python_version()} on {platform.platform()}"
