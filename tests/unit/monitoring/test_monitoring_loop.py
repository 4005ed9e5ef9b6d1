"""The closed loop's monitoring without a Prometheus: the nights' exporter, the config, the report's SLO section."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from components.registry.step import PromoteResult
from tinyworld.loop import monitor, slo
from tinyworld.loop.monitor import LocalPrometheus, MonitorUnavailable, NightMetrics
from tinyworld.loop.nights import NightResult
from tinyworld.loop.report import write_report
from tinyworld.loop.slo import AlertSeen, SloReport
from tinyworld.loop.state import RunFolder, RunState, UpOptions

DAILY = {"pipeline": "daily"}


def test_a_missing_prometheus_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitor.shutil, "which", lambda name: None)
    with pytest.raises(MonitorUnavailable, match=r"apt-get install prometheus"):
        monitor.prometheus_binary()


def test_a_night_is_exported_as_its_outcomes() -> None:
    """promote failed, daily stopped at a failed validation: each pipeline and the validation say so."""
    metrics = NightMetrics()
    value = metrics.registry.get_sample_value
    assert value("tinyworld_pipeline_runs_total", {"pipeline": "daily", "status": "failed"}) == 0
    assert value("tinyworld_pipeline_last_run_success", DAILY) is None  # no run yet: nothing to alert on
    assert value("tinyworld_validation_last_run_success", DAILY) is None

    good = NightResult(day=date(2026, 1, 1), pipeline_seconds={"daily": 30.0}, seconds={"etl": 4.0})
    metrics.record(good, experiment=False, validation=True)
    assert value("tinyworld_pipeline_last_run_success", {"pipeline": "daily"}) == 1
    assert value("tinyworld_pipeline_last_run_duration_seconds", {"pipeline": "daily"}) == 30.0
    assert value("tinyworld_pipeline_last_run_success", {"pipeline": "promote"}) is None  # no experiment: not run
    assert value("tinyworld_validation_last_run_success", DAILY) == 1

    bad = NightResult(day=date(2026, 1, 2), failure="validation failed: ...")
    metrics.record(bad, experiment=True, validation=False)
    for pipeline in ("daily", "promote"):
        assert value("tinyworld_pipeline_last_run_success", {"pipeline": pipeline}) == 0
        assert value("tinyworld_pipeline_runs_total", {"pipeline": pipeline, "status": "failed"}) == 1
    assert value("tinyworld_validation_last_run_success", DAILY) == 0
    assert value("tinyworld_validation_runs_total", {"status": "failed"}) == 1
    assert value("tinyworld_step_seconds", {"step": "etl"}) is None
    assert value("tinyworld_pipeline_step_seconds", {"step": "etl"}) == 4.0


def test_a_decision_is_counted_with_its_effect() -> None:
    decision = PromoteResult.model_validate(
        {
            "decision": "keep",
            "reason": "not enough data",
            "model_name": "recommender",
            "champion": 1,
            "challenger": 2,
            "new_champion": 1,
            "lineage": {"step": "promote"},
        }
    )
    metrics = NightMetrics()
    night = NightResult(day=date(2026, 1, 3), pipeline_seconds={"daily": 1.0, "promote": 1.0}, decision=decision)
    metrics.record(night, experiment=True, validation=None)
    assert metrics.registry.get_sample_value("tinyworld_promotion_decisions_total", {"decision": "keep"}) == 1
    assert metrics.registry.get_sample_value("tinyworld_pipeline_last_run_success", {"pipeline": "promote"}) == 1
    assert metrics.registry.get_sample_value("tinyworld_validation_last_run_success", DAILY) is None


def test_the_local_prometheus_scrapes_the_platform_and_the_loop_with_the_charts_rules(tmp_path: Path) -> None:
    targets = {"tinyworld-platform": "127.0.0.1:8000", "tinyworld-loop": "127.0.0.1:9999"}
    config = LocalPrometheus(tmp_path, tmp_path / "prometheus.log", targets).config()
    assert config["rule_files"] == [str(monitor.RULES_FILE)] and monitor.RULES_FILE.is_file()
    assert {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]} == {
        job: [target] for job, target in targets.items()
    }


def test_prometheus_timestamps_are_read_to_the_microsecond() -> None:
    assert monitor._unix("2026-01-01T00:00:01.123456789Z") == pytest.approx(1767225601.123456)
    assert monitor._unix("0001-01-01T00:00:00Z") == 0.0


def test_the_report_shows_the_slos_and_the_alerts(tmp_path: Path) -> None:
    state = RunState(run_id="r1", options=UpOptions(users=500, days=1, monitor=True))
    state.slo = SloReport(
        window_s=60.0,
        requests=120,
        p99_latency_s=0.042,
        error_rate=0.0,
        ingest_lag_max_s=4.0,
        alerts=[
            AlertSeen(name="TinyWorldPipelineFailed", state="firing", severity="warning", labels={"pipeline": "daily"})
        ],
    )
    folder = RunFolder(tmp_path, "r1")
    folder.root.mkdir()
    result = write_report(state, folder)
    assert result["slo"]["p99_latency_s"] == 0.042
    page = folder.path("report.html").read_text()
    assert "SLOs (Prometheus)" in page and "TinyWorldPipelineFailed" in page and "pipeline=daily" in page
    assert "42 ms" in page


def test_run_totals_count_every_sample_from_zero_and_across_a_restart() -> None:
    """A series born at 7 counts 7; a drop (a restarted platform) adds the new value; sums by label."""
    series = [
        {"metric": {"status": "200"}, "values": [[0, "0"], [2, "10"], [4, "25"], [6, "4"], [8, "9"]]},
        {"metric": {"status": "503"}, "values": [[4, "7"], [6, "7"]]},
    ]
    assert slo.totals(lambda _: series, "x[1m]", "status") == {"200": 34.0, "503": 7.0}


def test_quantiles_interpolate_in_the_buckets_as_prometheus_does() -> None:
    buckets = {"0.1": 0.0, "0.25": 100.0, "+Inf": 100.0}
    assert slo.quantile(0.99, buckets) == pytest.approx(0.2485)
    assert slo.quantile(0.5, {"0.01": 50.0, "0.1": 100.0, "+Inf": 100.0}) == pytest.approx(0.01)
    assert slo.quantile(0.99, {"0.1": 0.0, "+Inf": 5.0}) == 0.1  # beyond the last bound: that bound
    assert slo.quantile(0.99, {"+Inf": 0.0}) is None and slo.quantile(0.99, {}) is None


def test_alerts_keep_the_worst_state_each_reached() -> None:
    series = [
        {"metric": {"alertname": "A", "alertstate": "pending", "severity": "warning", "job": "j"}},
        {"metric": {"alertname": "A", "alertstate": "firing", "severity": "warning", "job": "j"}},
        {"metric": {"alertname": "B", "alertstate": "pending", "severity": "critical", "pipeline": "daily"}},
    ]
    seen = slo.alerts(lambda _: series, "1m")
    assert [(a.name, a.state, a.labels) for a in seen] == [("A", "firing", {}), ("B", "pending", {"pipeline": "daily"})]
