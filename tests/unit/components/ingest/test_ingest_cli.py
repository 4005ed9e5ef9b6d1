"""``tinyworld ingest serve``: settings supply the defaults, flags override them, bad input exits 2."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from tinyworld.commands.ingest import app

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``uvicorn.run`` would have been given (nothing is served)."""
    for key in list(os.environ):
        if key.upper().startswith("TINYWORLD_"):
            monkeypatch.delenv(key)
    calls: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.update(kwargs, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_defaults_come_from_the_environment(served: dict[str, Any], tmp_path: Path) -> None:
    """Without flags, the port and lake come from the environment's settings."""
    result = runner.invoke(app, ["serve", "--state", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8001)


def test_flags_override(served: dict[str, Any], tmp_path: Path) -> None:
    """Flags win over the settings."""
    args = ["serve", "--state", str(tmp_path / "s.sqlite"), "--lake", str(tmp_path / "lake"), "--port", "9123"]
    result = runner.invoke(app, [*args, "--flush-interval", "0.5", "--writer-id", "w1"])
    assert result.exit_code == 0, result.output
    assert served["port"] == 9123


@pytest.mark.parametrize(
    "extra",
    [["--env", "nowhere"], ["--writer-id", "bad name!"], ["--flush-rows", "0"]],
    ids=["unknown-env", "bad-writer-id", "bad-flush-rows"],
)
def test_bad_input_exits_2(served: dict[str, Any], tmp_path: Path, extra: list[str]) -> None:
    """An unknown environment or an invalid option is a clear error, and nothing is served."""
    result = runner.invoke(app, ["serve", "--state", str(tmp_path / "s.sqlite"), *extra])
    assert result.exit_code == 2
    assert "Error" in result.output
    assert not served
