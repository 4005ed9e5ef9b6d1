"""`tinyworld validate`: summaries, --json, exit codes, the report path, clear input errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.components.validate.builders import DAY1, DAY2, END, NOW
from tinyworld.commands.validate import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TINYWORLD_* from the shell; default paths land under tmp_path."""
    for key in [k for k in os.environ if k.upper().startswith("TINYWORLD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TINYWORLD_ARTIFACTS_ROOT", str(tmp_path / "artifacts"))


def events_args(lake: Path, report: Path, *extra: str) -> list[str]:
    """Arguments of `validate events` over the two-day test window."""
    return [
        "events",
        "--lake",
        str(lake),
        "--start",
        str(DAY1),
        "--end",
        str(DAY2),
        "--now",
        NOW.isoformat(),
        "--report",
        str(report),
        *extra,
    ]


def test_clean_lake_exits_zero_with_a_summary(clean_lake: Path, tmp_path: Path) -> None:
    """A passing run prints the summary table and the report path, and remembers the counts."""
    result = runner.invoke(app, events_args(clean_lake, tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert "raw_events" in result.stdout and "report:" in result.stdout
    assert (tmp_path / "r" / "report.html").is_file()
    state = json.loads((tmp_path / "r" / "state.json").read_text(encoding="utf-8"))
    assert set(state["events"]) == {str(DAY1), str(DAY2)}


def test_corrupted_lake_exits_one_and_names_failures(corrupted_lake: Path, tmp_path: Path) -> None:
    """A failing run exits 1, lists each failure and points at the report; state is left alone."""
    result = runner.invoke(app, events_args(corrupted_lake, tmp_path / "r"))
    assert result.exit_code == 1, result.output
    assert "FAILED raw_events position" in result.stdout
    assert f"report: {tmp_path / 'r' / 'report.html'}" in result.stdout
    assert json.loads((tmp_path / "r" / "state.json").read_text(encoding="utf-8"))["events"] == {}


def test_json_summary(corrupted_lake: Path, tmp_path: Path) -> None:
    """--json prints one JSON object: success, paths, and per suite its counts and failures."""
    result = runner.invoke(app, events_args(corrupted_lake, tmp_path / "r", "--json"))
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["success"] is False
    (suite,) = payload["suites"]
    assert suite["suite"] == "raw_events" and suite["failed"] == len(suite["failures"]) >= 7
    assert {"column", "expectation", "expected", "observed"} <= set(suite["failures"][0])
    assert Path(payload["report"]).is_file() and Path(payload["results"]).is_file()


def test_default_report_folder_is_under_artifacts(clean_lake: Path, tmp_path: Path) -> None:
    """Without --report the report goes to <artifacts_root>/validation/events."""
    args = ["events", "--lake", str(clean_lake), "--start", str(DAY1), "--now", NOW.isoformat(), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["report"] == str(tmp_path / "artifacts" / "validation" / "events" / "report.html")


def test_tables_command(etl_out: Path, tmp_path: Path) -> None:
    """`validate tables` validates every table (or those named) and exits 0 when they pass."""
    result = runner.invoke(
        app, ["tables", "--etl-out", str(etl_out), "--end", str(END), "--report", str(tmp_path / "t")]
    )
    assert result.exit_code == 0, result.output
    assert "interactions" in result.stdout
    one = runner.invoke(
        app, ["tables", "--etl-out", str(etl_out), "--table", "dau", "--json", "--report", str(tmp_path / "t")]
    )
    assert [s["suite"] for s in json.loads(one.stdout)["suites"]] == ["dau"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events", "--lake", "/nonexistent/lake", "--start", "2026-01-01"], "does not exist"),
        (["tables", "--etl-out", "/nonexistent/out"], "does not exist"),
    ],
)
def test_missing_inputs_are_clear_errors(args: list[str], message: str, tmp_path: Path) -> None:
    """A missing lake or ETL output exits 2 with one line on stderr, no traceback."""
    result = runner.invoke(app, [*args, "--report", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_empty_window_and_bad_files_are_clear_errors(clean_lake: Path, tmp_path: Path) -> None:
    """An empty window and an unreadable file exit 2 naming the problem."""
    empty = runner.invoke(
        app, ["events", "--lake", str(clean_lake), "--start", "2025-01-01", "--report", str(tmp_path)]
    )
    assert empty.exit_code == 2 and "no events in" in empty.stderr
    broken = tmp_path / "lake" / f"dt={DAY1}" / "hour=00"
    broken.mkdir(parents=True)
    (broken / "x.parquet").write_bytes(b"garbage")
    bad = runner.invoke(
        app, ["events", "--lake", str(tmp_path / "lake"), "--start", str(DAY1), "--report", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "cannot read" in bad.stderr and "x.parquet" in bad.stderr


def test_bad_arguments_are_usage_errors(clean_lake: Path) -> None:
    """A malformed date or a zone-less --now is a usage error (exit 2)."""
    assert runner.invoke(app, ["events", "--lake", str(clean_lake), "--start", "yesterday"]).exit_code == 2
    naive = runner.invoke(app, ["events", "--lake", str(clean_lake), "--start", str(DAY1), "--now", "2026-01-02T00:00"])
    assert naive.exit_code == 2 and "timezone" in naive.output


def test_corrupt_state_file_is_a_clear_error(clean_lake: Path, tmp_path: Path) -> None:
    """A state file that cannot be read exits 2 and says to fix or delete it."""
    (tmp_path / "state.json").write_text("[]", encoding="utf-8")
    result = runner.invoke(app, [*events_args(clean_lake, tmp_path / "r"), "--state", str(tmp_path / "state.json")])
    assert result.exit_code == 2 and "fix or delete it" in result.stderr
