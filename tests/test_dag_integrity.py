"""Every DAG file parses, without import errors and without heavy imports at parse time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parent.parent / "dags"
DAG_FILES = sorted(p.name for p in DAGS_DIR.glob("*.py"))
# Libraries that take seconds to import, or (chdb) hang a process forked after import.
HEAVY = ["chdb", "clickhouse_connect", "torch", "transformers", "diffusers", "great_expectations",
         "sqlalchemy_utils", "matplotlib", "nightdesk.warehouse.clickhouse"]


def test_dags_folder_has_dags():
    assert "nightdesk_elt.py" in DAG_FILES


def test_dagbag_imports_without_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert set(bag.dags) == {"nightdesk_elt", "nightdesk_content", "nightdesk_publish"}
    for dag in bag.dags.values():
        # topological_sort raises on a cycle; every task must be reachable in order.
        assert len(list(dag.topological_sort())) == len(dag.tasks)
        assert dag.doc_md, f"{dag.dag_id} has no doc_md"


@pytest.mark.parametrize("dag_file", DAG_FILES)
def test_parsing_imports_nothing_heavy(dag_file: str):
    """Parse each file in a fresh interpreter and list which heavy modules it pulled in."""
    code = (
        "import json, runpy, sys; "
        f"runpy.run_path({str(DAGS_DIR / dag_file)!r}); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"{dag_file} imports {loaded} at parse time; import them inside tasks"
