"""The report: a self-contained page with failures first, in red, and results.json beside it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from components.validate.report import write_report
from components.validate.results import Outcome, SuiteResult, ValidationRun
from tests.unit.components.validate.builders import BAD


def test_corrupted_report_names_each_failure(corrupted: SuiteResult, clean: SuiteResult, tmp_path: Path) -> None:
    """Every corrupted row's id, column and expectation appear in red rows ahead of the passes."""
    page = write_report([clean, corrupted], tmp_path / "report")
    html = page.read_text(encoding="utf-8")
    assert "FAILED: 1 of 2 suites" in html
    assert "<script" not in html and "http" not in html  # self-contained
    failed_rows = re.findall(r'<tr class="failed">(.*?)</tr>', html)
    suite_rows = [r for r in failed_rows if "expect_" in r]
    assert len(suite_rows) == len(corrupted.failed)
    joined = "\n".join(suite_rows)
    for bad_id in BAD.values():
        assert bad_id in joined, bad_id
    for column in ("user_id", "type", "position", "dwell_ms", "ts", "event_id"):
        assert f"<code>{column}</code>" in joined
    # within the failing suite's table, every failed row comes before the first passed one
    section = html.split('id="suite-raw_events"')[1]  # the failing suite is listed first
    first_pass = section.index('<tr class="passed">')
    assert section.rindex('<tr class="failed">', 0, first_pass) > 0
    assert section.find('<tr class="failed">', first_pass) == -1


def test_results_json_round_trips(corrupted: SuiteResult, tmp_path: Path) -> None:
    """results.json holds the typed run: success, suites and outcomes."""
    write_report([corrupted], tmp_path)
    run = ValidationRun.model_validate(json.loads((tmp_path / "results.json").read_text(encoding="utf-8")))
    assert run.success is False
    assert run.suites[0].outcomes == corrupted.outcomes


def test_report_escapes_values(tmp_path: Path) -> None:
    """Values from the data are escaped, never interpreted as HTML."""
    outcome = Outcome(
        expectation="expect_column_values_to_be_in_set",
        column="type",
        success=False,
        observed="<b>bold</b>",
        unexpected_sample=[{"event_id": "<script>alert(1)</script>"}],
    )
    suite = SuiteResult(name="raw_events", source="x", rows=1, rows_checked=1, outcomes=[outcome])
    html = write_report([suite], tmp_path).read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html
