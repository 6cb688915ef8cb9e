"""The one table of the GPU benchmark, and the time budget that decides which rows run.

Every row says how it was made (batch, lengths, settings) and what happened to it: a
figure, or plainly why there is none (skipped for time, not available in this build,
failed). A missing figure is never printed as a number.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

OK = "ok"
#: Status prefixes of a row without a figure.
SKIPPED, UNAVAILABLE, FAILED = "skipped", "not available in this build", "failed"


@dataclass
class Row:
    """One line of the table.

    :param compared: ratios against the phase's baselines, written out ("1.52x static").
    :param status: ``ok``, or one of the prefixes above followed by the reason.
    """

    phase: str
    name: str
    settings: str
    value: float | None = None
    unit: str = ""
    compared: str = ""
    notes: str = ""
    status: str = OK

    @property
    def measured(self) -> bool:
        return self.status == OK and self.value is not None


def skipped(phase: str, name: str, settings: str, reason: str) -> Row:
    return Row(phase, name, settings, status=f"{SKIPPED}: {reason}")


def failed(phase: str, name: str, settings: str, error: BaseException) -> Row:
    return Row(phase, name, settings, status=f"{FAILED}: {type(error).__name__}: {str(error)[:300]}")


def ratio(numerator: Row | None, denominator: Row | None, label: str) -> str:
    """``"1.52x <label>"`` when both rows have figures, else ``""``."""
    if numerator is None or denominator is None or not (numerator.measured and denominator.measured):
        return ""
    return f"{numerator.value / denominator.value:.2f}x {label}"


def render(rows: list[Row], header: dict[str, str]) -> str:
    """The markdown: a header list, then one table row per :class:`Row`."""
    lines = [f"- {key}: {value}" for key, value in header.items()]
    lines += ["", "| phase | row | settings | figure | unit | compared | notes / status |", "|---|---|---|---:|---|---|---|"]
    for row in rows:
        figure = _figure(row.value) if row.measured else "—"
        notes = row.notes if row.status == OK else "; ".join(part for part in (row.status, row.notes) if part)
        cells = [row.phase, row.name, row.settings, figure, row.unit, row.compared, notes]
        lines.append("| " + " | ".join(cell.replace("|", "/").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _figure(value: float) -> str:
    """Three significant digits at any size: a 0.3 ms lock cost reads 0.0003, not 0.000."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 0.001 or value == 0 else f"{value:.3e}"


class NotInThisBuild(Exception):
    """A platform API the row needs is missing (another branch adds it): the row says so."""


class Skip(Exception):
    """The row cannot run on this machine (a package the worker lacks); the reason is its status."""


class BudgetExceeded(Exception):
    """The whole run's deadline passed while a row was running."""


@dataclass
class Budget:
    """Seconds for the whole run and for each phase; rows check in before they start.

    The whole run's deadline is enforced by a timer signal as well, since one row (a
    torch.compile, a long generate) can outlast any check made before it: the signal
    interrupts the row at the next Python bytecode, the row is marked stopped and every
    later row is skipped, so the table is still written before the deadline.
    """

    total_s: float
    phase_s: dict[str, float]
    started: float = field(default_factory=time.monotonic)

    def left(self) -> float:
        return self.total_s - (time.monotonic() - self.started)

    def why_not(self, phase: str, phase_started: float) -> str | None:
        """Why a row of ``phase`` may not start now; ``None`` when it may."""
        if self.left() <= 0:
            return f"run budget of {self.total_s:.0f} s spent"
        spent = time.monotonic() - phase_started
        if spent >= self.phase_s[phase]:
            return f"phase budget of {self.phase_s[phase]:.0f} s spent ({spent:.0f} s)"
        return None

    @contextmanager
    def deadline(self) -> Iterator[None]:
        """Raise :class:`BudgetExceeded` in the main thread when the run's time is up."""

        def expire(signum: int, frame: object) -> None:
            raise BudgetExceeded(f"run budget of {self.total_s:.0f} s spent")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(self.left(), 0.001))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


class Phase:
    """Collects one phase's rows, each made by a callable that runs only within budget.

    A row that raises is recorded as failed (and fails the run); a row interrupted by the
    deadline is recorded as skipped, as is every row after it.
    """

    def __init__(self, name: str, budget: Budget, rows: list[Row], on_row: Callable[[], None] | None = None) -> None:
        """:param on_row: called after each row is filed (the script rewrites ``--out`` with the table so far)."""
        self.name, self.budget, self.rows, self.on_row = name, budget, rows, on_row
        self.started = time.monotonic()

    def run(self, name: str, settings: str, make: Callable[[], Row]) -> Row | None:
        """Run ``make`` unless the budget says no; the row it returns is filed under ``name``."""
        reason = self.budget.why_not(self.name, self.started)
        if reason:
            self.rows.append(skipped(self.name, name, settings, reason))
            if self.on_row is not None:
                self.on_row()
            return None
        started = time.monotonic()
        try:
            row = make()
            row.phase, row.name, row.settings = self.name, name, row.settings or settings
        except NotInThisBuild as exc:
            row = Row(self.name, name, settings, status=f"{UNAVAILABLE}: {exc}")
        except Skip as exc:
            row = skipped(self.name, name, settings, str(exc))
        except BudgetExceeded as exc:
            row = skipped(self.name, name, settings, f"stopped after {time.monotonic() - started:.0f} s: {exc}")
        except Exception as exc:  # a failing row is data for the table, and fails the run
            row = failed(self.name, name, settings, exc)
        print(f"[{self.name}] {name}: {row.status} {'' if row.value is None else f'{row.value:.4g} {row.unit}'} "
              f"({time.monotonic() - started:.1f} s)", flush=True)
        self.rows.append(row)
        if self.on_row is not None:
            self.on_row()
        return row
