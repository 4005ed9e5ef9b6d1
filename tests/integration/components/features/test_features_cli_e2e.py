"""`tinyworld features apply|materialize|lookup` end to end on synthetic tables, tables and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from components.features.synthetic import marker
from tests.integration.components.features.conftest import FEATURE_REPO, STAMPS
from tinyworld.commands.features import app

runner = CliRunner()


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The local environment with artifacts (so Feast's state) in a temporary folder."""
    artifacts = tmp_path_factory.mktemp("cli-artifacts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINYWORLD_ARTIFACTS_ROOT", str(artifacts))
        patch.setenv("TINYWORLD_FEATURE_REPO", str(FEATURE_REPO))
        yield artifacts / "features"


def test_apply_materialize_lookup(state: Path, etl_out: Path) -> None:
    """The three verbs in order: a summary table, JSON figures, then the latest values online."""
    applied = runner.invoke(app, ["apply", "--etl-out", str(etl_out)])
    assert applied.exit_code == 0, applied.output
    assert "user_features" in applied.stdout and "feast -c" in applied.stdout
    assert (state / "feature_store.yaml").is_file() and (state / "registry.db").is_file()

    done = runner.invoke(app, ["materialize", "--json"])
    assert done.exit_code == 0, done.output
    figures = json.loads(done.stdout)
    assert figures["end"] == STAMPS[-1].isoformat() and figures["rows"] == 4 + 5 + 3

    shown = runner.invoke(app, ["lookup", "user", "1", "2"])
    assert shown.exit_code == 0, shown.output
    assert "impressions_7d" in shown.stdout and "user_features" in shown.stdout

    found = runner.invoke(app, ["lookup", "user", "1", "77", "--json", "--view", "user_features"])
    assert found.exit_code == 0, found.output
    payload = json.loads(found.stdout)
    assert payload["rows"][0]["user_features__clicks_7d"] == marker(1, 2)
    assert payload["missing"] == [77]

    again = runner.invoke(app, ["materialize"])
    assert again.exit_code == 0 and "up to date" in again.stdout


def test_errors_exit_with_code_2(state: Path, tmp_path: Path) -> None:
    """A missing ETL output, an unknown entity and a bad --end say what is wrong and exit with 2."""
    missing = runner.invoke(app, ["apply", "--etl-out", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "tinyworld etl" in missing.output
    unknown = runner.invoke(app, ["lookup", "driver", "1"])
    assert unknown.exit_code == 2 and "unknown entity 'driver'" in unknown.output
    bad = runner.invoke(app, ["materialize", "--end", "soon"])
    assert bad.exit_code == 2 and "not an ISO date" in bad.output
