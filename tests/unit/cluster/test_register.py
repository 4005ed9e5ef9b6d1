"""The registration Job: pipelines uploaded and scheduled once per environment, however often it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from tinyworld.deploy.register import parse_schedules, register, run_name
from tinyworld.pipelines.client import SCHEDULES


@dataclass
class FakeKfp:
    """A KFP API in memory: pipelines, versions, one experiment and its recurring runs (two per page)."""

    pipelines: dict[str, str] = field(default_factory=dict)
    versions: dict[str, list[SimpleNamespace]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: int = 0

    def get_pipeline_id(self, name: str) -> str | None:
        return self.pipelines.get(name)

    def upload_pipeline(self, pipeline_package_path: str, pipeline_name: str, description: str) -> Any:
        self.pipelines[pipeline_name] = pipeline_id = f"p-{pipeline_name}"
        self.versions[pipeline_id] = [
            SimpleNamespace(display_name=pipeline_name, pipeline_version_id=f"{pipeline_id}-0")
        ]
        return SimpleNamespace(pipeline_id=pipeline_id)

    def upload_pipeline_version(self, pipeline_package_path: str, pipeline_version_name: str, pipeline_id: str) -> Any:
        version = SimpleNamespace(display_name=pipeline_version_name, pipeline_version_id=f"{pipeline_id}-n")
        self.versions[pipeline_id].append(version)
        return version

    def list_pipeline_versions(self, pipeline_id: str, page_size: int) -> Any:
        return SimpleNamespace(pipeline_versions=list(reversed(self.versions[pipeline_id]))[:page_size])

    def create_experiment(self, name: str) -> Any:
        return SimpleNamespace(experiment_id=f"e-{name}")

    def create_recurring_run(self, **kwargs: Any) -> Any:
        self.created += 1
        run_id = f"r-{self.created}"
        self.runs[run_id] = kwargs
        return SimpleNamespace(recurring_run_id=run_id)

    def list_recurring_runs(self, page_token: str, page_size: int, experiment_id: str | None) -> Any:
        ids = sorted(self.runs)
        start = int(page_token or 0)
        page = [
            SimpleNamespace(recurring_run_id=i, display_name=self.runs[i]["job_name"]) for i in ids[start : start + 2]
        ]
        following = str(start + 2) if start + 2 < len(ids) else ""
        return SimpleNamespace(recurring_runs=page, next_page_token=following)

    def delete_recurring_run(self, recurring_run_id: str) -> Any:
        del self.runs[recurring_run_id]


def test_registering_twice_leaves_one_recurring_run_per_pipeline() -> None:
    """A second deploy replaces the environment's recurring runs instead of adding to them."""
    kfp = FakeKfp()
    first = register(kfp, "kind")
    second = register(kfp, "kind")
    assert set(first) == set(second) == set(SCHEDULES)
    assert sorted(run["job_name"] for run in kfp.runs.values()) == sorted(run_name(p, "kind") for p in SCHEDULES)
    assert set(kfp.runs) == set(second.values())


def test_other_environments_runs_are_left_alone() -> None:
    """Only the recurring runs named for this environment are replaced."""
    kfp = FakeKfp()
    register(kfp, "hetzner")
    register(kfp, "kind")
    register(kfp, "kind")
    assert sorted(run["job_name"] for run in kfp.runs.values()) == sorted(
        run_name(p, env) for p in SCHEDULES for env in ("hetzner", "kind")
    )


def test_schedules_override_the_pipelines_own_and_carry_the_environment() -> None:
    """A cron given for one pipeline replaces its default; every run gets the environment as a parameter."""
    kfp = FakeKfp()
    register(kfp, "kind", {"daily": "0 0 4 * * *"})
    crons = {run["job_name"]: run["cron_expression"] for run in kfp.runs.values()}
    assert crons[run_name("daily", "kind")] == "0 0 4 * * *"
    assert crons[run_name("promote", "kind")] == SCHEDULES["promote"]
    assert all(run["params"] == {"env": "kind"} for run in kfp.runs.values())


def test_an_unknown_pipeline_is_refused_before_anything_is_uploaded() -> None:
    kfp = FakeKfp()
    with pytest.raises(KeyError, match="nightly"):
        register(kfp, "kind", {"nightly": "0 0 4 * * *"})
    assert not kfp.pipelines and not kfp.runs


def test_parse_schedules() -> None:
    assert parse_schedules(["daily=0 30 2 * * *"]) == {"daily": "0 30 2 * * *"}
    with pytest.raises(ValueError, match="NAME=CRON"):
        parse_schedules(["daily"])
