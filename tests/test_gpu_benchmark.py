"""benchmarks/gpu_throughput.py --tiny: every row of the GPU benchmark's table, on a CPU.

The script runs as a GPU worker would run it, in its own process, on the tests' tiny
random models. No timing is asserted: only that every row is there, that measured rows
have positive figures, that a row without a figure says why, and that a failing phase
(a cover size the pipeline refuses) fails the run.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_throughput.py"
ROWS = {
    "text": ["stock generate, dynamic cache", "stock generate, static cache", "stock generate_batch (continuous batching)",
             "platform TextGenerator, engine=generate (before)", "platform TextGenerator, engine=continuous, free",
             "platform TextGenerator, engine=continuous, fact-locked"],
    "covers": ["stock StableDiffusionPipeline", "stock, channels_last + torch.compile (eager)",
               "platform DiffusionCoverGenerator, its settings"],
    "night": ["night path, warehouse writes to chDB", "night path, warehouse rows to a local file (JSONEachRow)"],
}
#: Rows whose platform API another branch adds: until then they must say so, with no figure.
PLATFORM_API_ROWS = {"platform TextGenerator, engine=continuous, free", "platform TextGenerator, engine=continuous, fact-locked"}


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict[tuple[str, str], list[str]]]:
    out = tmp_path / "table.md"
    env = {**os.environ, "PYTHONPATH": ""}
    env.pop("NIGHTDESK_DATA_DIR", None)  # the script's own warehouse, not the test session's
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--workdir", str(tmp_path / "work"), "--out", str(out),
                           *args], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    rows = {}
    if out.exists():
        for line in out.read_text().splitlines():
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if len(cells) == 7 and cells[0] in (*ROWS, "breakdown"):
                rows[(cells[0], cells[1])] = cells
    return done, rows


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("gpu-bench"))


def test_tiny_run_writes_every_row(tiny_run):
    done, rows = tiny_run
    assert done.returncode == 0, done.stderr[-3000:]
    table = (Path(done.args[done.args.index("--out") + 1])).read_text()
    for key in ("device", "torch", "transformers", "date", "command"):
        assert re.search(rf"^- {key}: \S", table, re.M), key
    for phase, names in ROWS.items():
        for name in names:
            assert (phase, name) in rows, f"missing row {phase} / {name}"
    assert any(phase == "breakdown" for phase, _ in rows)


def test_measured_rows_have_positive_figures_and_the_others_say_why(tiny_run):
    _, rows = tiny_run
    for (phase, name), (_, _, settings, figure, unit, _, notes) in rows.items():
        assert settings, f"{name}: no settings"
        if figure == "—":
            assert notes.startswith(("not available in this build", "skipped")), f"{name}: no figure and no reason"
            continue
        assert float(figure.replace(",", "")) > 0 and unit, name
    for name in ROWS["text"][:4] + ROWS["covers"] + ROWS["night"][1:]:
        phase = "text" if name in ROWS["text"] else "covers" if name in ROWS["covers"] else "night"
        assert rows[(phase, name)][3] != "—", f"{name} has no figure: {rows[(phase, name)][6]}"


def test_platform_rows_have_figures_once_the_api_exists(tiny_run):
    """Before the engine branch lands these rows say 'not available in this build', never a number."""
    from generators.text import TextGenerator

    _, rows = tiny_run
    has_engine = "engine" in inspect.signature(TextGenerator).parameters
    for name in PLATFORM_API_ROWS:
        figure, notes = rows[("text", name)][3], rows[("text", name)][6]
        assert (figure != "—") if has_engine else (figure == "—" and notes.startswith("not available in this build"))


def test_a_failing_phase_fails_the_run(tmp_path):
    done, rows = _run(tmp_path, "--phases", "covers", "--cover-size", "60")  # not a multiple of 8: diffusers refuses
    assert done.returncode == 1, done.stdout[-2000:]
    assert rows[("covers", "stock StableDiffusionPipeline")][6].startswith("failed: ValueError")
