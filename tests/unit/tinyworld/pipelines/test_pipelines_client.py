"""Uploading and scheduling the compiled pipelines through the KFP API (a fake client records calls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tinyworld.pipelines.client import SCHEDULES, schedule, upload, version_name
from tinyworld.pipelines.compile import compile_all


@dataclass
class FakeKfp:
    """The part of kfp.Client the module uses, keeping pipelines and versions in memory."""

    pipelines: dict[str, str] = field(default_factory=dict)
    versions: dict[str, list[SimpleNamespace]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)

    def get_pipeline_id(self, name: str) -> str | None:
        return self.pipelines.get(name)

    def upload_pipeline(self, pipeline_package_path: str, pipeline_name: str, description: str) -> Any:
        pipeline_id = f"p-{len(self.pipelines)}"
        self.pipelines[pipeline_name] = pipeline_id
        self.versions[pipeline_id] = [
            SimpleNamespace(display_name=pipeline_name, pipeline_version_id=f"{pipeline_id}-v0")
        ]
        return SimpleNamespace(pipeline_id=pipeline_id)

    def upload_pipeline_version(self, pipeline_package_path: str, pipeline_version_name: str, pipeline_id: str) -> Any:
        version = SimpleNamespace(
            display_name=pipeline_version_name, pipeline_version_id=f"{pipeline_id}-v{len(self.versions[pipeline_id])}"
        )
        self.versions[pipeline_id].append(version)
        return version

    def list_pipeline_versions(self, pipeline_id: str, page_size: int) -> Any:
        return SimpleNamespace(pipeline_versions=list(reversed(self.versions[pipeline_id]))[:page_size])

    def create_experiment(self, name: str) -> Any:
        return SimpleNamespace(experiment_id=f"e-{name}")

    def create_recurring_run(self, **kwargs: Any) -> Any:
        self.runs.append(kwargs)
        return SimpleNamespace(recurring_run_id=f"r-{len(self.runs)}")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compiled")
    compile_all(folder)
    return folder


def test_first_upload_creates_the_pipeline_and_reuses_its_version(compiled: Path) -> None:
    """A new pipeline is created once; uploading the same YAML again creates no version."""
    client = FakeKfp()
    first = upload(client, "daily", compiled)
    assert first == ("p-0", "p-0-v0")
    again = upload(client, "daily", compiled)
    assert again[0] == "p-0" and len(client.versions["p-0"]) == 2  # one version named after the file's digest
    assert upload(client, "daily", compiled) == again  # a third upload of the same file adds nothing


def test_changed_yaml_uploads_a_new_version(compiled: Path, tmp_path: Path) -> None:
    """Another compiled file for the same pipeline becomes a new version named after its digest."""
    client = FakeKfp()
    upload(client, "daily", compiled)
    changed = tmp_path / "daily.yaml"
    changed.write_text((compiled / "daily.yaml").read_text() + "\n# changed\n")
    _, version = upload(client, "daily", tmp_path)
    assert client.versions["p-0"][-1].display_name == version_name("daily", changed)
    assert version == client.versions["p-0"][-1].pipeline_version_id


def test_schedule_creates_a_recurring_run_with_the_environment(compiled: Path) -> None:
    """The recurring run names the environment as its parameter and uses the pipeline's cron."""
    client = FakeKfp()
    run_id = schedule(client, "promote", "kind", directory=compiled)
    assert run_id == "r-1"
    [run] = client.runs
    assert run["params"] == {"env": "kind"}
    assert run["cron_expression"] == SCHEDULES["promote"]
    assert run["max_concurrency"] == 1 and run["no_catchup"] is True
    assert run["pipeline_id"] == client.pipelines["promote"]


def test_unknown_pipeline_and_missing_yaml_are_clear_errors(tmp_path: Path) -> None:
    """An unknown name lists the known pipelines; a missing file says to run make pipelines."""
    with pytest.raises(KeyError, match="known: daily, promote"):
        upload(FakeKfp(), "nightly", tmp_path)
    with pytest.raises(FileNotFoundError, match="make pipelines"):
        upload(FakeKfp(), "daily", tmp_path)
