"""``tinyworld train``: Parquet in, model folder out, a summary printed; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from components.train.artifact import load_model
from tests.unit.components.train.synthetic import World
from tinyworld.commands.train import train

app = typer.Typer()
app.command()(train)


@pytest.fixture(scope="module")
def tables(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The synthetic world's tables written as Parquet."""
    root = tmp_path_factory.mktemp("tables")
    paths = {"interactions": root / "interactions.parquet", "items": root / "items.parquet"}
    world.interactions.to_parquet(paths["interactions"])
    world.items.to_parquet(paths["items"])
    return paths


def test_train_writes_a_loadable_model_and_prints_json(tables: dict[str, Path], tmp_path: Path) -> None:
    """--json prints one summary object; the folder loads as a ModelArtifact with the same version."""
    out = tmp_path / "model"
    args = ["--interactions", str(tables["interactions"]), "--items", str(tables["items"]), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--epochs", "1", "--batch-size", "128", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 1 and summary["world_size"] == 1
    assert summary["rows"]["positives"] > 0
    assert load_model(out).version == summary["version"]


def test_a_pinned_family_without_validation_and_a_fixed_popularity_term(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    """--validation none trains the named family with no popularity term; --popularity W fixes its weight."""
    args = ["--interactions", str(tables["interactions"]), "--items", str(tables["items"]), "--epochs", "1"]
    args += ["--family", "two-tower", "--validation", "none", "--json"]
    plain = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["selection"]["chosen"]["popularity"] == 0.0
    fixed = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--popularity", "2"])
    assert fixed.exit_code == 0, fixed.output
    assert load_model(tmp_path / "b").metadata["popularity"]["weight"] == 2.0


def test_missing_column_exits_2(tmp_path: Path) -> None:
    """A table without item_id is refused before training, naming the column."""
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"user_id": [1], "ts": [0]}).to_parquet(path)
    result = CliRunner().invoke(app, ["--interactions", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "item_id" in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    """A path that does not exist is a clear error, not a traceback."""
    result = CliRunner().invoke(app, ["--interactions", str(tmp_path / "nope"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "cannot read" in result.output
