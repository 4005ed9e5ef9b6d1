"""`tinyworld features`: errors exit with code 2 and a message; values print readably."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.unit.components.features.conftest import FEATURE_REPO
from tinyworld.commands.features import _cell, app

runner = CliRunner()


@pytest.fixture
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The local environment with its artifacts in a temporary folder."""
    monkeypatch.setenv("TINYWORLD_ARTIFACTS_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TINYWORLD_FEATURE_REPO", str(FEATURE_REPO))
    return tmp_path / "artifacts"


def test_an_unknown_environment_exits_with_2() -> None:
    """--env names a file in platform/environments/; another name is a clear error."""
    result = runner.invoke(app, ["materialize", "--env", "moon"])
    assert result.exit_code == 2 and "unknown environment 'moon'" in result.output


def test_apply_without_the_etl_output_exits_with_2(artifacts: Path, tmp_path: Path) -> None:
    """A missing ETL output is reported with the command that produces it, before Feast runs."""
    result = runner.invoke(app, ["apply", "--etl-out", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "tinyworld etl" in result.output
    assert not (artifacts / "features" / "registry.db").exists()


def test_lookup_before_apply_and_unknown_entities_exit_with_2(artifacts: Path) -> None:
    """Lookups need an applied repository and a known entity."""
    before = runner.invoke(app, ["lookup", "user", "1"])
    assert before.exit_code == 2 and "tinyworld features apply" in before.output
    unknown = runner.invoke(app, ["lookup", "driver", "1"])
    assert unknown.exit_code == 2 and "known entities: user, item, creator" in unknown.output


def test_the_ui_needs_an_applied_repository(artifacts: Path) -> None:
    """`ui` refuses to start a server over an empty registry."""
    result = runner.invoke(app, ["ui", "--port", "18888"])
    assert result.exit_code == 2 and "tinyworld features apply" in result.output


def test_cells_shorten_vectors_and_floats() -> None:
    """Vectors show three values and their length; floats four significant digits; nulls a dash."""
    assert _cell(np.array([0.123456, 1.0, 2.0, 3.0], dtype=np.float32)) == "[0.123, 1, 2, ...] (4)"
    assert _cell([1.0]) == "[1] (1)"
    assert _cell(0.0312345) == "0.03123" and _cell(None) == "-" and _cell(float("nan")) == "-" and _cell(12) == "12"
