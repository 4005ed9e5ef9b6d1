"""The gate on real data: a SimNet lake passes, a corrupted batch fails, the ETL's output passes.

SimNet is run in-process (2,000 users, 2 days, ~5 s). The last test runs the real Spark ETL
on that lake and validates every table it writes: the contract between components/etl and
components/validate (marked slow; a Spark session and the ETL take a minute or more).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from components.validate.run import validate_events, validate_tables, write_report
from simnet.config import WorldConfig
from simnet.runner import RunSpec, simulate
from tests.unit.components.validate.builders import BAD, DAY1, DAY2, corrupt_rows
from tinyworld.commands.validate import app

NOW = datetime.combine(DAY2 + timedelta(days=2), time(0), tzinfo=UTC)
"""A clock after the simulated days (SimNet starts on 2026-01-01)."""


@pytest.fixture(scope="module")
def simnet_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days (2026-01-01 and 02) of 2,000 users under the popularity policy."""
    out = tmp_path_factory.mktemp("simnet")
    simulate(RunSpec(WorldConfig.load(None).with_users(2_000), "popularity", 2, 7), out=out, progress=False)
    lake = out / "events"
    assert (lake / f"dt={DAY1}").is_dir() and (lake / f"dt={DAY2}").is_dir()
    return lake


def test_simnet_lake_passes(simnet_lake: Path) -> None:
    """Every expectation passes on SimNet's events; only the first day's bound has no yardstick."""
    result = validate_events(str(simnet_lake), DAY1, DAY2, NOW)
    assert result.success, [o for o in result.outcomes if o.status == "failed"]
    assert [o.column for o in result.skipped] == [f"dt={DAY1}"]
    assert result.rows > 10_000


def test_corrupted_simnet_batch_fails_with_a_readable_report(simnet_lake: Path, tmp_path: Path) -> None:
    """One bad file in a SimNet day fails the gate; the CLI exits 1 and the report names each row."""
    lake = tmp_path / "events"
    shutil.copytree(simnet_lake, lake)
    first_id = pq.read_table(next((lake / f"dt={DAY2}").rglob("*.parquet")), columns=["event_id"])[0][0].as_py()
    pq.write_table(corrupt_rows(duplicate_of=first_id), lake / f"dt={DAY2}" / "hour=05" / "corrupt.parquet")
    report = tmp_path / "report"
    args = ["events", "--lake", str(lake), "--start", str(DAY1), "--end", str(DAY2)]
    result = CliRunner().invoke(app, [*args, "--now", NOW.isoformat(), "--report", str(report), "--json"])
    assert result.exit_code == 1, result.output
    failures = {(f["expectation"], f["column"]) for f in json.loads(result.stdout)["suites"][0]["failures"]}
    assert {
        ("expect_column_values_to_not_be_null", "user_id"),
        ("expect_column_values_to_be_in_set", "type"),
        ("expect_column_values_to_be_between", "position"),
        ("expect_column_values_to_be_between", "dwell_ms"),
        ("expect_column_values_to_be_unique", "event_id"),
    } <= failures
    html = (report / "report.html").read_text(encoding="utf-8")
    for bad_id in (BAD["null_user"], BAD["unknown_type"], BAD["position"], BAD["no_item"], BAD["dwell"]):
        assert bad_id in html
    assert first_id in html  # the duplicated id


@pytest.mark.slow
def test_etl_output_of_a_simnet_lake_passes(simnet_lake: Path, tmp_path: Path) -> None:
    """The Spark ETL's tables over the SimNet lake pass every table suite (types, keys, ranges)."""
    pytest.importorskip("pyspark")
    from components.etl.job import run_etl
    from components.etl.session import build_session

    spark = build_session("local[2]", app_name="tinyworld-validate-tests", driver_memory="2g")
    # not stopped: another module's tests may share this session (getOrCreate); the JVM ends with pytest
    run_etl(spark, str(simnet_lake), DAY1, DAY2, str(tmp_path / "out"))
    results = validate_tables(str(tmp_path / "out"), end=DAY2)
    page = write_report(results, tmp_path / "report")
    failed = {r.name: [(o.column, o.expectation, o.observed) for o in r.failed] for r in results if not r.success}
    assert not failed, f"{failed} (see {page})"
    assert {r.name for r in results} >= {"dau", "interactions", "user_features", "item_features"}
