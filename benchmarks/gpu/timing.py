"""Wall time of work that runs on a GPU: kernels run asynchronously to the Python that
launches them, so the clock is read only after the device has finished."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """``(seconds, result)`` of ``work()``, device work included."""
    synchronize()
    started = time.perf_counter()
    result = work()
    synchronize()
    return time.perf_counter() - started, result
