"""Reading what a kfp.local run left: each task's output and each step's own seconds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tinyworld.pipelines.local import step_seconds, task_output


def _write(run: Path, task: str, output: object, at: float) -> None:
    folder = run / task
    folder.mkdir(parents=True)
    written = folder / "executor_output.json"
    written.write_text(json.dumps({"parameterValues": {"Output": output}}))
    os.utime(written, (at, at))


def test_outputs_and_seconds_of_the_latest_run(tmp_path: Path) -> None:
    """The latest run wins; steps come in the order they finished; a non-step output is skipped."""
    old, new = tmp_path / "daily-1", tmp_path / "daily-2"
    _write(old, "etl", json.dumps({"lineage": {"seconds": 99.0}}), 1_000)
    os.utime(old, (1_000, 1_000))
    _write(new, "validate", json.dumps({"lineage": {"seconds": 2.5}}), 2_002)
    _write(new, "etl", json.dumps({"lineage": {"seconds": 40.0}}), 2_001)
    _write(new, "passed", True, 2_003)
    os.utime(new, (2_000, 2_000))
    assert step_seconds(tmp_path, "daily") == {"etl": 40.0, "validate": 2.5}
    assert list(step_seconds(tmp_path, "daily")) == ["etl", "validate"]
    assert task_output(tmp_path, "daily", "validate") == json.dumps({"lineage": {"seconds": 2.5}})
    assert task_output(tmp_path, "daily", "passed") is None  # not a string: no step result
    _write(old, "register", json.dumps({"version": 1}), 1_001)
    os.utime(old, (1_000, 1_000))
    assert task_output(tmp_path, "daily", "register") is None  # the latest run did not register: not the old one
    assert task_output(tmp_path, "promote", "promote") is None and step_seconds(tmp_path, "promote") == {}
