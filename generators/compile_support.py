"""Whether ``torch.compile`` can build kernels on a device, asked before a model is compiled.

``torch.compile`` fails at the first call, not when it is applied, and on CUDA its
inductor backend builds kernels with Triton, which compiles a small driver module with the
machine's C compiler against Python's headers. A GPU worker image often has the CUDA torch
wheel (Triton included) but no compiler or headers: then every compiled call raises, and a
night that compiled its covers by default would fail on its first image. Asking first lets
a caller fall back to eager kernels and say why.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sysconfig
from pathlib import Path


def compile_unavailable(device: str) -> str | None:
    """Why inductor cannot compile for ``device`` here, or ``None`` when it can.

    On CUDA it needs Triton, a C compiler (``$CC``, ``cc``, ``gcc`` or ``clang``) and
    ``Python.h``; on a CPU, a C++ compiler (``$CXX``, ``c++``, ``g++`` or ``clang++``) and
    ``Python.h``.
    """
    missing = []
    if device.startswith("cuda"):
        if importlib.util.find_spec("triton") is None:
            missing.append("triton (it ships with the CUDA torch wheel)")
        compilers = (os.environ.get("CC"), "cc", "gcc", "clang")
    else:
        compilers = (os.environ.get("CXX"), "c++", "g++", "clang++")
    if not any(name and shutil.which(name) for name in compilers):
        missing.append("a compiler (" + ", ".join(name for name in compilers if name) + ")")
    include = sysconfig.get_paths().get("include")
    if not include or not (Path(include) / "Python.h").exists():
        missing.append(f"Python's headers (Python.h in {include})")
    return f"torch.compile needs {' and '.join(missing)}" if missing else None
