"""`tinyworld split` then `tinyworld evaluate` on a saved toy model; bad inputs are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from components.train.artifact import save_model
from tests.unit.components.evaluate.toys import interactions, oracle, random_model
from tinyworld.commands.evaluate import evaluate
from tinyworld.commands.split import split

runner = CliRunner()
app = typer.Typer()
app.command("split")(split)
app.command("evaluate")(evaluate)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TINYWORLD_* from the shell."""
    for key in [k for k in __import__("os").environ if k.upper().startswith("TINYWORLD_")]:
        monkeypatch.delenv(key)


@pytest.fixture
def split_dir(tmp_path: Path) -> Path:
    """A temporal split of a toy table: per user, the last interaction is the test positive."""
    rows = [(u, (u + j) % 12, j, 1) for u in range(6) for j in range(5)]
    interactions(rows).to_parquet(tmp_path / "all.parquet", index=False)
    result = runner.invoke(
        app, ["split", "--interactions", str(tmp_path / "all.parquet"), "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "s"


def _evaluate(model: Path, split_dir: Path, *extra: str) -> list[str]:
    train, test = str(split_dir / "train.parquet"), str(split_dir / "test.parquet")
    return ["evaluate", "--model", str(model), "--train", train, "--test", test, "--k", "3", *extra]


def test_perfect_model_through_the_cli(split_dir: Path, tmp_path: Path) -> None:
    """A saved oracle scores 1.0; the JSON has model, popularity, protocol; --out writes the same."""
    test = pd.read_parquet(split_dir / "test.parquet")
    save_model(oracle(test, n_items=12, n_users=6), tmp_path / "model")
    result = runner.invoke(app, _evaluate(tmp_path / "model", split_dir, "--json", "--out", str(tmp_path / "r.json")))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"model", "popularity", "protocol"} <= set(report)
    assert report["model"]["ndcg_at_k"] == pytest.approx(1.0) and report["model"]["recall_at_k"] == pytest.approx(1.0)
    assert report["protocol"]["split"]["config"]["by"] == "temporal"
    assert report["protocol"]["model"]["version"] == "oracle"
    assert json.loads((tmp_path / "r.json").read_text()) == report


def test_table_output_and_champion(split_dir: Path, tmp_path: Path) -> None:
    """Without --json a table is printed; --champion adds its column and the decision."""
    save_model(random_model(6, 12, seed=1), tmp_path / "a")
    save_model(random_model(6, 12, seed=2), tmp_path / "b")
    result = runner.invoke(app, _evaluate(tmp_path / "a", split_dir, "--champion", str(tmp_path / "b")))
    assert result.exit_code == 0, result.output
    assert "ndcg_at_k" in result.stdout and "champion" in result.stdout and "promoted" in result.stdout


def _assert_clean_error(result: object, needle: str) -> None:
    output = getattr(result, "output", "")
    assert getattr(result, "exit_code", None) == 2, output
    assert "Error:" in output and needle in output, output
    assert "Traceback" not in output
    assert isinstance(getattr(result, "exception", None), SystemExit)


def test_unknown_model_path(split_dir: Path, tmp_path: Path) -> None:
    """A folder without a model: exit 2, one line."""
    _assert_clean_error(runner.invoke(app, _evaluate(tmp_path / "nowhere", split_dir)), "cannot load the candidate")


def test_missing_columns_and_empty_tables(split_dir: Path, tmp_path: Path) -> None:
    """A test table without ts, and an empty train table: exit 2, one line each."""
    save_model(random_model(6, 12), tmp_path / "m")
    test = pd.read_parquet(split_dir / "test.parquet")
    test.drop(columns="ts").to_parquet(tmp_path / "bad_test.parquet", index=False)
    pd.read_parquet(split_dir / "train.parquet").iloc[:0].to_parquet(tmp_path / "empty.parquet", index=False)
    base = ["evaluate", "--model", str(tmp_path / "m"), "--k", "3"]
    no_ts = runner.invoke(
        app, [*base, "--train", str(split_dir / "train.parquet"), "--test", str(tmp_path / "bad_test.parquet")]
    )
    _assert_clean_error(no_ts, "missing column(s) ts")
    empty = runner.invoke(
        app, [*base, "--train", str(tmp_path / "empty.parquet"), "--test", str(split_dir / "test.parquet")]
    )
    _assert_clean_error(empty, "has no rows")
    too_big_k = runner.invoke(app, _evaluate(tmp_path / "m", split_dir)[:-2] + ["--k", "13"])
    _assert_clean_error(too_big_k, "exceeds the catalogue")
