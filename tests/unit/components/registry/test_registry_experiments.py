"""The experiment log: records in time order, the one in force at a time, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from components.registry.experiments import ArmConfig, ExperimentConfig, ExperimentLog, ExperimentRecord, Timeline

T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _experiment(name: str, *arms: tuple[str, float, str]) -> ExperimentConfig:
    return ExperimentConfig(name=name, arms=tuple(ArmConfig(name=a, weight=w, model=m) for a, w, m in arms))


def test_records_come_back_oldest_first_and_the_live_one_is_found_by_time(tmp_path):
    log = ExperimentLog(tmp_path, "two-tower")
    second = log.record(_experiment("day-2", ("control", 1, "champion"), ("treatment", 1, "challenger")), at=T0)
    first = log.record(_experiment("day-1", ("control", 1, "popularity")), at=T0 - timedelta(days=1), by="loop")

    assert [r.experiment.name for r in log.records()] == ["day-1", "day-2"]
    assert log.latest() == second
    timeline = log.timeline()
    assert timeline.at(T0 - timedelta(days=2)) is None
    assert timeline.at(T0 - timedelta(hours=1)) == first
    assert timeline.at(T0) == second
    assert timeline.spans() == [("day-1", first.at, T0), ("day-2", T0, None)]


def test_an_empty_log_has_no_latest_and_ignores_foreign_files(tmp_path):
    log = ExperimentLog(tmp_path, "m")
    assert log.latest() is None
    (tmp_path / "m" / "experiments").mkdir(parents=True)
    (tmp_path / "m" / "experiments" / "notes.txt").write_text("not a record")
    assert log.records() == []
    assert Timeline([]).at(T0) is None and Timeline([]).spans() == []


def test_shares_are_normalised_and_names_checked():
    assert _experiment("e", ("a", 3, "champion"), ("b", 1, "challenger")).shares() == {"a": 0.75, "b": 0.25}
    with pytest.raises(ValidationError, match="unique"):
        _experiment("e", ("a", 1, "champion"), ("a", 1, "challenger"))
    with pytest.raises(ValidationError, match="name"):
        ExperimentConfig(name="no spaces")
    with pytest.raises(ValidationError, match="timezone"):
        ExperimentRecord(at=datetime(2026, 1, 1), experiment=ExperimentConfig())
