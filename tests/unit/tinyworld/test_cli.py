"""The tinyworld CLI: `settings` prints resolved settings; bad environments exit cleanly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tinyworld import __version__
from tinyworld.cli import app

runner = CliRunner()


def test_settings_json_is_the_resolved_environment() -> None:
    """`settings --json` prints every field of the chosen environment as JSON."""
    result = runner.invoke(app, ["settings", "--env", "kind", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["name"] == "kind"
    assert payload["online_store"] == "redis"
    assert payload["serve_port"] == 8000


def test_settings_json_shows_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the CLI prints includes TINYWORLD_* overrides."""
    monkeypatch.setenv("TINYWORLD_LOG_LEVEL", "DEBUG")
    result = runner.invoke(app, ["settings", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["log_level"] == "DEBUG"


def test_settings_table_lists_the_fields() -> None:
    """Without --json the settings print as a table naming each field."""
    result = runner.invoke(app, ["settings", "--env", "local"])
    assert result.exit_code == 0, result.output
    for field in ("lake_root", "spark_master", "online_store"):
        assert field in result.stdout


def test_unknown_environment_is_a_clear_error() -> None:
    """An unknown environment exits non-zero with a one-line reason and no traceback."""
    result = runner.invoke(app, ["settings", "--env", "staging"])
    assert result.exit_code == 2
    assert "unknown environment 'staging'" in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_invalid_override_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad TINYWORLD_* value exits non-zero naming the field, not with a traceback."""
    monkeypatch.setenv("TINYWORLD_SERVE_PORT", "not-a-port")
    result = runner.invoke(app, ["settings", "--json"])
    assert result.exit_code == 2
    assert "serve_port" in result.stderr


def test_version() -> None:
    """--version prints the package version."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout
