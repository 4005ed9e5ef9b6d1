"""The compiled pipelines: checked in, current, and wired as the design says."""

from __future__ import annotations

from pathlib import Path

import yaml

from tinyworld.pipelines.compile import COMPILED_DIR, PIPELINES, drift
from tinyworld.pipelines.image import IMAGE


def test_checked_in_yaml_matches_a_fresh_compilation() -> None:
    """`make pipelines` output is committed: a fresh compilation gives the same files."""
    assert drift() == []


def test_drift_names_a_stale_file(tmp_path: Path) -> None:
    """A changed or missing file is reported by name."""
    (tmp_path / "daily.yaml").write_text("stale\n")
    assert drift(tmp_path) == ["daily", "promote"]


def _spec(name: str) -> dict:
    return next(yaml.safe_load_all((COMPILED_DIR / f"{name}.yaml").read_text()))


def test_every_component_runs_in_the_one_image() -> None:
    """Every executor of every pipeline uses the image named in tinyworld.pipelines.image."""
    for name in PIPELINES:
        executors = _spec(name)["deploymentSpec"]["executors"]
        assert {e["container"]["image"] for e in executors.values()} == {IMAGE}


def test_daily_order_and_condition() -> None:
    """daily: validate after etl; features and split after validate; register only under the condition."""
    dag = _spec("daily")["root"]["dag"]["tasks"]
    assert dag["validate"]["dependentTasks"] == ["etl"]
    assert "validate" in dag["features"]["dependentTasks"] and "validate" in dag["split"]["dependentTasks"]
    assert set(dag["train"]["dependentTasks"]) == {"etl", "features", "split"}
    assert "register" not in dag and "refit" not in dag  # both under the condition
    condition = next(task for task in dag.values() if "triggerPolicy" in task)
    assert "passed" in condition["triggerPolicy"]["condition"]


def test_every_task_but_the_condition_reads_the_runtime_secret_of_every_profile() -> None:
    """In a cluster each task's pod gets the object-store keys from the Secret the chart names (optional)."""
    from tinyworld.deploy import chart
    from tinyworld.pipelines.cluster import RUNTIME_KEYS

    names = {chart.values(profile)["runtimeSecret"] for profile in chart.profiles()}
    assert len(names) == 1, f"the profiles name different runtime Secrets: {names}"
    for name in PIPELINES:
        documents = list(yaml.safe_load_all((COMPILED_DIR / f"{name}.yaml").read_text()))
        executors = documents[0]["deploymentSpec"]["executors"]
        platform = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        assert set(platform) == set(executors) - {"exec-passed"}, name
        for spec in platform.values():
            [secret] = spec["secretAsEnv"]
            assert secret["secretName"] in names and secret["optional"] is True
            assert {pair["envVar"] for pair in secret["keyToEnv"]} == set(RUNTIME_KEYS)
