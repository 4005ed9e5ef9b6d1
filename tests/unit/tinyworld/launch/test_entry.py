"""The launched pod's entry module: the step from its parameters' JSON, its result JSON where it was asked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from components.step import Lineage
from components.train.step import TrainParams, TrainResult
from tinyworld.launch import entry
from tinyworld.launch.pod import entry_args
from tinyworld.settings import Settings

LAUNCH_DIR = Path(entry.__file__).parent


def test_main_runs_the_step_and_writes_its_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parameters reach the step as they were serialised; the result JSON lands at --result."""
    params = TrainParams(interactions="s3://b/i", out="s3://b/m", nproc=3)
    result = TrainResult(model="s3://b/m", version="v", card="c", summary={"rows": 1}, lineage=Lineage(step="train"))
    seen: list[Any] = []

    def step(name: str, params_json: str, io: Any) -> TrainResult:
        seen.append((name, TrainParams.model_validate_json(params_json)))
        return result

    monkeypatch.setattr(entry, "run_step", step)
    written = tmp_path / "out" / "result.json"
    argv = entry_args("train", Settings.from_environment("local"), params.model_dump_json(), str(written))
    assert entry.main(argv) == 0
    assert seen == [("train", params)]
    assert TrainResult.model_validate_json(written.read_text()) == result


def test_an_unknown_step_is_refused() -> None:
    """Only the launchable steps run; the message names them."""
    with pytest.raises(ValueError, match="known: train, etl"):
        entry.run_step("evaluate", "{}", None)  # type: ignore[arg-type]


def test_a_failing_step_writes_no_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The step's error ends the pod (its log has the traceback); no result is left to be mistaken for one."""

    def fails(name: str, params_json: str, io: Any) -> TrainResult:
        raise RuntimeError("torchrun with 2 processes failed with exit code 1")

    monkeypatch.setattr(entry, "run_step", fails)
    written = tmp_path / "result.json"
    with pytest.raises(RuntimeError, match="torchrun"):
        entry.main(["train", "--env", "local", "--params-json", "{}", "--result", str(written)])
    assert not written.exists()


def test_the_launch_modules_shadow_nothing_when_spark_runs_the_entry_file() -> None:
    """spark-submit runs entry.py as a file, which puts its folder first on sys.path: none of the modules
    beside it may share a name with the standard library (an installed package's is checked in the image)."""
    names = {path.stem for path in LAUNCH_DIR.glob("*.py")} - {"__init__"}
    assert names & set(sys.stdlib_module_names) == set()
    assert not any(name in {"kubernetes", "pyspark", "torch", "components", "tinyworld", "simnet"} for name in names)
