"""The features step, ``components.features.step.run``: apply and materialise a small ETL output, then serve it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from components.features.errors import UnknownEntityError
from components.features.online import lookup
from components.features.repo import open_repo
from components.features.step import FeaturesParams, FeaturesResult, run
from components.features.synthetic import marker
from components.step import StepIO
from tests.integration.components.features.conftest import (
    CREATORS,
    FEATURE_REPO,
    ITEMS,
    STAMPS,
    USERS,
    store_config,
    write_etl,
)
from tinyworld.commands.features import app


def test_run_applies_materialises_and_serves(tmp_path: Path) -> None:
    """One call registers every view, materialises each entity's latest row and records its lineage."""
    etl = write_etl(tmp_path / "etl")
    params = FeaturesParams(etl_out=str(etl), store=store_config(tmp_path))
    heard: list[tuple[str, float | None]] = []
    result = run(params, StepIO(progress=lambda message, fraction: heard.append((message, fraction))))

    assert result.materialised > 0 and result.end == STAMPS[-1]
    assert {name: (v.applied, v.materialised) for name, v in result.views.items()} == {
        "user_features": (len(USERS) * len(STAMPS), len(USERS)),
        "item_features": (len(ITEMS) * len(STAMPS), len(ITEMS)),
        "creator_features": (len(CREATORS) * len(STAMPS), len(CREATORS)),
    }
    online = lookup(open_repo(params.store), "user", [1, 4])
    assert list(online["user_features__clicks_7d"]) == [marker(1, 2), marker(4, 2)]

    lineage = result.lineage
    assert lineage.step == "features" and lineage.seconds > 0
    assert lineage.inputs == {"etl": str(etl.resolve())}
    assert lineage.outputs["feature_store"] == str((tmp_path / "artifacts" / "features").resolve())
    assert FeaturesParams.model_validate(lineage.params) == params
    assert FeaturesResult.model_validate_json(result.model_dump_json()) == result

    fractions = [f for _, f in heard if f is not None]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("user_features" in message for message, _ in heard)

    again = run(params.model_copy(update={"views": ["user_features"]}), StepIO())
    assert again.materialised == 0 and again.views["user_features"].start is None  # already up to date


def test_an_unknown_view_fails_before_anything_is_written(tmp_path: Path) -> None:
    """A view name the definitions lack is refused before apply creates a registry."""
    params = FeaturesParams(etl_out=str(write_etl(tmp_path / "etl")), store=store_config(tmp_path), views=["driver"])
    with pytest.raises(UnknownEntityError, match="unknown feature view 'driver'"):
        run(params, StepIO())
    assert not (tmp_path / "artifacts" / "features" / "registry.db").exists()


def test_the_cli_runs_the_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tinyworld features run --json` prints the step's result, read back as a FeaturesResult."""
    monkeypatch.setenv("TINYWORLD_ARTIFACTS_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TINYWORLD_FEATURE_REPO", str(FEATURE_REPO))
    etl = write_etl(tmp_path / "etl")
    done = CliRunner().invoke(app, ["run", "--etl-out", str(etl), "--view", "user_features", "--json"])
    assert done.exit_code == 0, done.output
    result = FeaturesResult.model_validate(json.loads(done.stdout))
    assert result.views["user_features"].materialised == len(USERS) and result.views["item_features"].materialised == 0
    assert result.lineage.params["store"]["state"] == f"{tmp_path / 'artifacts'}/features"
