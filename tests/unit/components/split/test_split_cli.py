"""`tinyworld split`: files written, split.json, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from components.split.run import SPLIT_FILE, read_split_summary
from tinyworld.commands.split import split

runner = CliRunner()
app = typer.Typer()
app.command()(split)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TINYWORLD_* from the shell."""
    for key in [k for k in __import__("os").environ if k.upper().startswith("TINYWORLD_")]:
        monkeypatch.delenv(key)


def _table(path: Path, rows: int = 200) -> Path:
    """A SimNet-like interactions table: timestamps in UTC, labels 0/1, weights."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 20, rows),
            "item_id": rng.integers(0, 50, rows),
            "ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s"),
            "label": (rng.random(rows) < 0.3).astype(np.int32),
            "weight": np.ones(rows),
            "request_id": [f"r{i}" for i in range(rows)],
        }
    )
    frame.to_parquet(path, index=False)
    return path


def test_split_writes_train_test_and_summary(tmp_path: Path) -> None:
    """Both halves keep every column and row; split.json records the settings and counts."""
    source = _table(tmp_path / "all.parquet")
    out = tmp_path / "split"
    args = ["--interactions", str(source), "--out", str(out), "--by", "random", "--ratio", "0.75", "--seed", "4"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    train, test = pd.read_parquet(out / "train.parquet"), pd.read_parquet(out / "test.parquet")
    assert len(train) + len(test) == 200 == summary["rows"]
    assert list(train.columns) == list(pd.read_parquet(source).columns)
    assert str(train["ts"].dtype) == "datetime64[ns, UTC]" or "UTC" in str(train["ts"].dtype)
    assert summary["config"] == {"by": "random", "ratio": 0.75, "seed": 4, "test_day": None}
    assert summary["positive_rule"] == "label == 1"
    assert read_split_summary(str(out / "test.parquet")) == json.loads((out / SPLIT_FILE).read_text())


def test_split_prints_a_summary(tmp_path: Path) -> None:
    """Without --json the command prints the counts in words."""
    result = runner.invoke(app, ["--interactions", str(_table(tmp_path / "a.parquet")), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "temporal split of 200 rows" in result.stdout


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"user_id": [1, 2], "ts": [1, 2]}), "missing column(s) item_id"),
        (pd.DataFrame({"user_id": pd.Series([], dtype="int64"), "item_id": [], "ts": []}), "has no rows"),
    ],
)
def test_bad_tables_exit_2_without_traceback(tmp_path: Path, frame: pd.DataFrame, message: str) -> None:
    """Missing columns or an empty table: exit 2, one 'Error:' line, no traceback."""
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    result = runner.invoke(app, ["--interactions", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    """A missing table and an invalid --by or --ratio are one-line errors."""
    missing = runner.invoke(app, ["--interactions", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    source = str(_table(tmp_path / "a.parquet"))
    bad_by = runner.invoke(app, ["--interactions", source, "--out", str(tmp_path / "o"), "--by", "global"])
    assert bad_by.exit_code == 2 and "--by" in bad_by.output
    bad_ratio = runner.invoke(app, ["--interactions", source, "--out", str(tmp_path / "o"), "--ratio", "1.5"])
    assert bad_ratio.exit_code == 2 and "--ratio" in bad_ratio.output
