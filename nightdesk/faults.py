"""Named fault points: where a crash test makes the process die as a lost worker would.

The content stages write to the warehouse in several steps. To prove a rerun finishes
the day whatever step a crash interrupted, each gap between two writes is a named point;
``NIGHTDESK_FAULT=<name>`` (or ``<name>:<n>``, the n-th time that point is reached in
this process; several, comma-separated) makes the process SIGKILL itself there: no ``finally``, no atexit, no
flush, exactly what an OOM kill or a lost machine does. With
``NIGHTDESK_FAULT_ACTION=raise`` the point raises :class:`InjectedFault` instead: the
task fails as on a lost connection and Airflow retries it in the same DAG run, so a
test sees a second try (and its try number) finish the work. Unset, a point costs one
environment lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

FAULT_ENV = "NIGHTDESK_FAULT"
ACTION_ENV = "NIGHTDESK_FAULT_ACTION"
ACTIONS = ("kill", "raise")

#: Every fault point, and the gap it sits in.
POINTS: dict[str, str] = {
    "after_generation_log_insert": "records.save: the log rows are written, their drafts not yet",
    "after_checks_saved": "qc: a round's check results are written, the drafts' statuses not yet",
    "after_status_update": "qc: a round's statuses are written, the failed drafts not yet rewritten",
    "after_enqueue": "enqueue: the review queue committed, the task not yet marked done",
}

_reached: Counter[str] = Counter()


class InjectedFault(RuntimeError):
    """Raised at a fault point when ``NIGHTDESK_FAULT_ACTION=raise``."""


def point(name: str) -> None:
    """Die here (SIGKILL, or raise) if ``NIGHTDESK_FAULT`` names this point and its count is reached."""
    if name not in POINTS:
        raise ValueError(f"fault point {name!r} is not declared in nightdesk.faults.POINTS")
    wanted = os.environ.get(FAULT_ENV, "")
    if not wanted:
        return
    targets = parse(wanted)
    if name in targets:
        _reached[name] += 1
        if _reached[name] == targets[name]:
            action = os.environ.get(ACTION_ENV, "kill")
            if action not in ACTIONS:
                raise ValueError(f"{ACTION_ENV}={action!r}: expected one of {', '.join(ACTIONS)}")
            if action == "raise":
                raise InjectedFault(f"{FAULT_ENV}={wanted}: injected failure at {name} ({POINTS[name]})")
            os.kill(os.getpid(), signal.SIGKILL)


def parse(value: str) -> dict[str, int]:
    """``name[:n],...`` -> {name: n}; an unknown name or a bad count is an error."""
    targets = {}
    for part in value.split(","):
        name, _, count = part.strip().partition(":")
        if name not in POINTS:
            raise ValueError(f"{FAULT_ENV}={value!r}: unknown fault point {name!r}; known: {', '.join(sorted(POINTS))}")
        if count and not (count.isdigit() and int(count) >= 1):
            raise ValueError(f"{FAULT_ENV}={value!r}: the count after '{name}:' must be a whole number >= 1, "
                             f"got {count!r}")
        targets[name] = int(count or 1)
    return targets
