"""The ``simnet`` command line: what it prints and writes, and how it refuses bad input.

Every refusal must exit non-zero with a one-line reason and no traceback: under
:class:`typer.testing.CliRunner` an uncaught exception shows up as ``result.exception``
that is not a ``SystemExit``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from simnet.cli import app

runner = CliRunner()
ENV = {"COLUMNS": "200"}  # keep Rich from wrapping messages mid-phrase

SUMMARY_KEYS = (
    "events",
    "events_per_s",
    "score",
    "ctr",
    "dau",
    "creators",
    "coverage",
    "exposure_gini",
    "retention_d1",
)


def _invoke(*args: str) -> Result:
    return runner.invoke(app, list(args), env=ENV)


def _text(result: Result) -> str:
    """All output with Rich's box drawing removed and whitespace collapsed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


def _refused(result: Result) -> str:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert "Traceback" not in result.output
    return _text(result)


def test_run_json_prints_one_summary_object() -> None:
    """`run --users 300 --days 2 --json` prints exactly one JSON object with the headline metrics."""
    result = _invoke("run", "--users", "300", "--days", "2", "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    summary = json.loads(lines[0])
    assert isinstance(summary, dict)
    for key in SUMMARY_KEYS:
        assert key in summary, key
        assert isinstance(summary[key], int | float), (key, summary[key])
    assert summary["events"] > 0 and summary["events_per_s"] > 0
    assert 0 <= summary["score"] <= 100
    for key in ("ctr", "coverage", "exposure_gini", "retention_d1"):
        assert 0 <= summary[key] <= 1, key
    assert summary["users"] == 300 and summary["days"] == 2 and summary["policy"] == "popularity"


def test_run_json_is_deterministic_per_seed() -> None:
    """Two `--json` runs with the same seed print the same summary, timing aside."""
    args = ("run", "--users", "300", "--days", "1", "--json", "--policy", "random", "--seed", "3")
    first, second = (json.loads(_invoke(*args).stdout) for _ in range(2))
    for summary in (first, second):
        del summary["seconds"], summary["events_per_s"]
    assert first == second


def test_run_prints_tables_without_json() -> None:
    """Without --json, `run` prints the summary and the calibration targets as tables."""
    result = _invoke("run", "--users", "300", "--days", "1", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "calibration targets" in result.stdout
    assert "score" in result.stdout


def test_run_out_writes_report_and_partitioned_parquet(tmp_path: Path) -> None:
    """`--out DIR` writes DIR/report.html and Parquet under DIR/events/dt=YYYY-MM-DD/hour=HH/.

    Every file's ts column is timestamp[us, tz=UTC] and its rows fall in its partition's hour.
    """
    out = tmp_path / "run"
    result = _invoke("run", "--users", "300", "--days", "2", "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "report.html").stat().st_size > 0
    files = sorted((out / "events").rglob("*.parquet"))
    assert files
    layout = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})$")
    rows = 0
    days = set()
    for path in files:
        match = layout.match(path.parent.relative_to(out / "events").as_posix())
        assert match, path
        dt, hour = match.group(1), int(match.group(2))
        days.add(dt)
        table = pq.read_table(path)
        assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
        stamps = table["ts"].to_pylist()
        assert {(t.date().isoformat(), t.hour) for t in stamps} == {(dt, hour)}, path
        rows += len(table)
    assert {"2026-01-01", "2026-01-02"} <= days
    assert rows == json.loads(result.stdout)["events"]


def _yaml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "world.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        pytest.param(["--users", "0"], "Invalid value for '--users'", id="zero-users"),
        pytest.param(["--users", "-5"], "Invalid value for '--users'", id="negative-users"),
        pytest.param(["--days", "0"], "Invalid value for '--days'", id="zero-days"),
        pytest.param(["--policy", "nope"], "'nope' is not one of", id="unknown-policy"),
    ],
)
def test_run_rejects_bad_options(args: list[str], reason: str) -> None:
    """Out-of-range users or days and unknown policies exit non-zero, naming the option."""
    assert reason in _refused(_invoke("run", "--json", *args))


def test_run_rejects_an_unwritable_out(tmp_path: Path) -> None:
    """`--out` below a regular file exits 1 with "cannot write to" and what to do."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    text = _refused(_invoke("run", "--users", "300", "--json", "--out", str(blocker / "sub")))
    assert "cannot write to" in text and "--out" in text


def test_run_rejects_a_missing_config(tmp_path: Path) -> None:
    """`--config` naming a missing file exits 1 saying there is no configuration there."""
    text = _refused(_invoke("run", "--users", "300", "--config", str(tmp_path / "missing.yaml")))
    assert "no world configuration file at" in text


def test_run_rejects_a_config_with_an_unknown_field(tmp_path: Path) -> None:
    """A YAML with an unknown field exits 1 naming the field."""
    path = _yaml(tmp_path, "population:\n  userz: 5\n")
    text = _refused(_invoke("run", "--users", "300", "--config", path))
    assert "invalid world configuration" in text and "userz" in text


def test_run_rejects_a_config_with_a_bad_value(tmp_path: Path) -> None:
    """A YAML with an out-of-range value exits 1 naming the field."""
    path = _yaml(tmp_path, "behaviour:\n  position_decay: 1.5\n")
    text = _refused(_invoke("run", "--users", "300", "--config", path))
    assert "invalid world configuration" in text and "position_decay" in text


def test_run_accepts_a_valid_config(tmp_path: Path) -> None:
    """A valid YAML configuration is used: its slate size bounds the positions of the run."""
    path = _yaml(tmp_path, "behaviour:\n  slate_size: 3\n")
    result = _invoke("run", "--users", "300", "--json", "--config", path, "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    events = pq.ParquetDataset(tmp_path / "o" / "events").read(columns=["position"])
    assert max(p for p in events["position"].to_pylist() if p is not None) < 3


def test_run_rejects_malformed_yaml(tmp_path: Path) -> None:
    """A config file that is not valid YAML exits 1 with a message, not a traceback."""
    path = _yaml(tmp_path, "population: [unclosed\n")
    assert "invalid world configuration" in _refused(_invoke("run", "--users", "300", "--config", path))


def test_run_rejects_a_config_directory(tmp_path: Path) -> None:
    """`--config` naming a directory exits 1 with a message, not a traceback."""
    _refused(_invoke("run", "--users", "300", "--config", str(tmp_path)))


def test_run_rejects_a_negative_seed() -> None:
    """`--seed -1` exits non-zero with a message naming --seed, not a traceback."""
    assert "--seed" in _refused(_invoke("run", "--users", "300", "--json", "--seed", "-1"))


def test_compare_rejects_unknown_policies_and_bad_seeds(tmp_path: Path) -> None:
    """`compare` refuses unknown policy names and non-integer seeds before simulating anything."""
    out = str(tmp_path / "cmp")
    text = _refused(_invoke("compare", "--policies", "random,nope", "--out", out))
    assert "unknown policy nope" in text
    text = _refused(_invoke("compare", "--seeds", "1,x", "--out", out))
    assert "--seeds must be comma-separated integers" in text
