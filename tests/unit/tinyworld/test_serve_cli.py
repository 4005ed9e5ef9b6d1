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


def test_roots_stay_urls_and_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local root is made absolute; an s3:// (or s3a://) root stays a URL, never a folder named s3:."""
    from tinyworld.serving import absolute as _absolute

    monkeypatch.chdir(tmp_path)
    assert _absolute("data/registry") == str(tmp_path / "data" / "registry")
    assert _absolute("s3://tinyworld/registry") == "s3://tinyworld/registry"
    assert _absolute("s3a://tinyworld/etl/") == "s3://tinyworld/etl"


def test_ingest_state_needs_a_local_folder(tmp_path: Path) -> None:
    """The state file defaults to <artifacts_root>/serving for a local root; an s3:// root asks for --state."""
    from tinyworld.serving import state_path as _state_path
    from tinyworld.settings import Settings

    local = Settings(artifacts_root=str(tmp_path / "artifacts"))
    assert _state_path(None, local) == tmp_path / "artifacts" / "serving" / "ingest.sqlite"
    remote = Settings(artifacts_root="s3://tinyworld/artifacts", s3_endpoint_url="http://127.0.0.1:9000")
    with pytest.raises(ValueError, match="give --state"):
        _state_path(None, remote)
    assert _state_path(tmp_path / "s.sqlite", remote) == tmp_path / "s.sqlite"
