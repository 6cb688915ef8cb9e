"""The GX gate passes on good marts, fails on corrupted ones, and stops the DAG."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import sqlalchemy as sa

from nightdesk.elt.quality import QualityGateFailed, gate

GOOD_DAY = dt.date(2013, 2, 19)
BAD_DAY = dt.date(2013, 2, 20)


@pytest.fixture(scope="module")
def loaded_day(warehouse, ops_db, airflow_db):
    from nightdesk.runner import run_dag

    assert run_dag("nightdesk_elt", GOOD_DAY).ok
    return GOOD_DAY


def test_gate_passes_on_good_marts(warehouse, loaded_day):
    outcome = gate(warehouse, "marts", loaded_day)
    assert all(o["success"] for o in outcome.values())
    assert set(outcome) == {"mart_carrier_daily", "mart_airport_daily", "mart_stock_daily"}


def test_gate_fails_on_a_corrupted_mart_and_keeps_the_result(warehouse, loaded_day):
    warehouse.command(
        "ALTER TABLE mart_carrier_daily UPDATE on_time_pct = 140, flights = flights + 1 "
        "WHERE flight_date = {d:Date} AND carrier = 'UA' SETTINGS mutations_sync = 1",
        {"d": loaded_day},
    )
    try:
        with pytest.raises(QualityGateFailed, match="mart_carrier_daily.*on_time_pct"):
            gate(warehouse, "marts", loaded_day)
        rows = warehouse.query_rows(
            "SELECT success, failed_expectations FROM quality_results WHERE table_name = 'mart_carrier_daily' "
            "AND logical_date = {d:Date} ORDER BY validated_at DESC LIMIT 1",
            {"d": loaded_day},
        )
        success, failed = rows[0]
        assert success == 0
        assert any("on_time_pct" in f for f in failed) and any("flights" in f for f in failed)
    finally:
        from nightdesk.elt.transform import run_layer

        run_layer(warehouse, "marts", loaded_day)
    assert all(o["success"] for o in gate(warehouse, "marts", loaded_day).values())


def test_failed_raw_gate_stops_the_dag_before_the_marts(warehouse, ops_db, airflow_db, tmp_path, monkeypatch):
    """Source rows that fit the schema but break a suite (a malformed carrier code) stop the run."""
    from nightdesk.runner import run_dag

    bad_db = tmp_path / "ops.sqlite"
    shutil.copy(ops_db.removeprefix("sqlite:///"), bad_db)
    engine = sa.create_engine(f"sqlite:///{bad_db}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE flights SET carrier = 'u$' WHERE flight_date = :d AND carrier = 'UA'"),
                     {"d": BAD_DAY.isoformat()})
    engine.dispose()
    monkeypatch.setenv("NIGHTDESK_OPS_DB_URL", f"sqlite:///{bad_db}")

    outcome = run_dag("nightdesk_elt", BAD_DAY)

    assert not outcome.ok
    assert "validate_raw" in outcome.failed_tasks
    assert {"transform_staging", "transform_marts", "validate_marts"} <= set(outcome.failed_tasks)
    marts = warehouse.scalar("SELECT count() FROM mart_carrier_daily WHERE flight_date = {d:Date}", {"d": BAD_DAY})
    assert marts == 0
