"""``tinyworld serve``: arms from the command line, and clear refusals of bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinyworld.cli import app
from tinyworld.commands.serve import parse_arm


@pytest.mark.parametrize(
    ("text", "arm"),
    [
        ("control", {"name": "control"}),
        ("treatment=challenger", {"name": "treatment", "model": "challenger"}),
        ("b=3:25", {"name": "b", "model": "3", "weight": 25.0}),
    ],
)
def test_parse_arm(text: str, arm: dict[str, object]) -> None:
    assert parse_arm(text) == arm


@pytest.mark.parametrize("text", ["=champion", "x=:5", "x=champion:lots"])
def test_parse_arm_refuses_malformed_arms(text: str) -> None:
    with pytest.raises(ValueError, match="--arm"):
        parse_arm(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arm", "a=champion", "--arm", "a=challenger"], "unique"),
        (["--arm", "x=champion:lots"], "not a number"),
        (["--arm", "a=champion:-1"], "greater than 0"),
    ],
)
def test_bad_arms_exit_2_before_anything_starts(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--no-ray", "--no-features", "--no-events", *args])
    assert result.exit_code == 2
    assert message in result.output
