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

    On CUDA it needs Triton, a C compiler and ``Python.h``: Triton takes ``$CC`` when it
    is set, else ``gcc`` or ``clang``. On a CPU, inductor needs a C++ compiler (``$CXX``
    when set, else ``c++``, ``g++`` or ``clang++``) and ``Python.h``.
    """
    missing = []
    if device.startswith("cuda"):
        if importlib.util.find_spec("triton") is None:
            missing.append("triton (it ships with the CUDA torch wheel)")
        variable, compilers = "CC", ("gcc", "clang")
    else:
        variable, compilers = "CXX", ("c++", "g++", "clang++")
    chosen = os.environ.get(variable)
    candidates = (chosen,) if chosen else compilers
    if not any(shutil.which(name) for name in candidates):
        missing.append(f"a compiler (${variable}={chosen})" if chosen else f"a compiler ({', '.join(compilers)})")
    include = sysconfig.get_paths().get("include")
    if not include or not (Path(include) / "Python.h").exists():
        missing.append(f"Python's headers (Python.h in {include})")
    return f"torch.compile needs {' and '.join(missing)}" if missing else None
