"""The ``tinyworld etl`` command, with Spark replaced by fakes (the job has its own tests)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from components.etl import job, session, step
from components.etl.job import EtlOptions, EtlResult
from tinyworld.cli import app


class _FakeSpark:
    stopped = False

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the session builder and the job; record what the command passed them."""
    seen: dict[str, Any] = {}
    fake = _FakeSpark()

    def build(master: str, **kw: Any) -> _FakeSpark:
        seen["master"] = master
        return fake

    def run(
        spark: Any, lake: str, start: date, end: date, out: str, options: EtlOptions, on_step: Any, **kw: Any
    ) -> EtlResult:
        seen.update(lake=lake, start=start, end=end, out=out, options=options, **kw)
        on_step("dau")
        return EtlResult(start, end, out, 42, rows={"dau": 2}, seconds={"read": 0.1, "dau": 0.2}, total_seconds=1.0)

    monkeypatch.setattr(session, "build_session", build)
    monkeypatch.setattr(job, "run_etl", run)
    monkeypatch.setattr(step, "run_etl", run)
    seen["spark"] = fake
    return seen


def test_run_json(calls: dict[str, Any]) -> None:
    """--json prints one object with rows and seconds; options reach the job; the session stops."""
    args = ["etl", "--lake", "/l", "--start", "2026-01-01", "--end", "2026-01-02", "--out", "/o", "--json"]
    args += ["--control-arm", "a", "--split", "a=1,b=3", "--tables", "dau", "--master", "local[1]"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["events"] == 42 and data["rows"] == {"dau": 2}
    assert data["lineage"]["window"] == {"start": "2026-01-01", "end": "2026-01-02"}
    assert calls["master"] == "local[1]" and calls["lake"] == "/l"
    opts: EtlOptions = calls["options"]
    assert opts.control_arm == "a" and opts.arm_split == {"a": 1.0, "b": 3.0} and opts.tables == ("dau",)
    assert calls["spark"].stopped


def test_run_table(calls: dict[str, Any]) -> None:
    """Without --json the command prints a summary table."""
    args = ["etl", "--lake", "/l", "--start", "2026-01-01", "--end", "2026-01-01", "--out", "/o"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "dau" in result.stdout and "total" in result.stdout


def test_bad_date_is_a_usage_error(calls: dict[str, Any]) -> None:
    """A malformed date exits with code 2 and says why."""
    args = ["etl", "--lake", "/l", "--start", "yesterday", "--end", "2026-01-01", "--out", "/o"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "yesterday" in result.output


def test_experiment_log_reaches_the_job(calls: dict[str, Any], tmp_path: Any) -> None:
    """--experiment-log and --model-name hand the job the log's timeline; without them it gets none."""
    from datetime import UTC, datetime

    from components.registry.experiments import ExperimentConfig, ExperimentLog

    ExperimentLog(str(tmp_path), "recsys").record(ExperimentConfig(name="nightly"), at=datetime(2026, 1, 1, tzinfo=UTC))
    args = ["etl", "--lake", "/l", "--start", "2026-01-01", "--end", "2026-01-01", "--out", "/o", "--json"]
    result = CliRunner().invoke(app, [*args, "--experiment-log", str(tmp_path), "--model-name", "recsys"])
    assert result.exit_code == 0, result.output
    assert [r.experiment.name for r in calls["timeline"].records] == ["nightly"]
    lineage = json.loads(result.stdout.strip().splitlines()[-1])["lineage"]
    assert lineage["inputs"]["experiment_log"].endswith("recsys/experiments")
    assert lineage["params"]["experiment_log"] == {"registry_root": str(tmp_path), "model_name": "recsys"}
    assert CliRunner().invoke(app, args).exit_code == 0 and calls["timeline"] is None
