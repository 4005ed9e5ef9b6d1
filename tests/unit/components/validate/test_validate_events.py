"""The raw events suite: a clean lake passes; each corruption fails, naming column and rows."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings

from components.validate.config import ValidateConfig
from components.validate.read import ValidationInputError
from components.validate.results import Outcome, SuiteResult
from components.validate.run import validate_events
from components.validate.state import RowCountState
from tests.strategies import DAY_START, event_tables
from tests.unit.components.validate.builders import BAD, DAY1, DAY2, NOW, at, clean_events, write_lake


def find(result: SuiteResult, expectation: str, column: str | None, expected_part: str = "") -> Outcome:
    """The one outcome of ``expectation`` on ``column`` (whose expected text contains ``expected_part``)."""
    found = [
        o
        for o in result.outcomes
        if o.expectation == expectation and o.column == column and expected_part in o.expected
    ]
    assert len(found) == 1, [(o.expectation, o.column, o.expected) for o in result.outcomes]
    return found[0]


def sample_ids(outcome: Outcome) -> set[str]:
    """The event ids an outcome lists among its offending rows."""
    return {str(row.get("event_id")) for row in outcome.unexpected_sample}


def test_clean_lake_passes(clean: SuiteResult) -> None:
    """Every expectation on protocol-valid events passes; only the first day's bound is skipped."""
    assert clean.success, [o for o in clean.outcomes if o.status == "failed"]
    assert [o.column for o in clean.skipped] == [f"dt={DAY1}"]
    assert clean.rows == clean.rows_checked == sum(clean.row_counts.values())
    assert set(clean.row_counts) == {DAY1.isoformat(), DAY2.isoformat()}
    engines = {o.engine for o in clean.outcomes}
    assert engines == {"great_expectations", "pyarrow"}


def test_second_day_is_bounded_by_the_first(clean: SuiteResult) -> None:
    """Within a window each day's count is checked against the day before it."""
    bound = find(clean, "expect_table_row_count_to_be_between", f"dt={DAY2}")
    assert bound.success and not bound.skipped
    assert f"dt={DAY1}" in bound.expected


@pytest.mark.parametrize(
    ("expectation", "column", "expected_part", "bad_id"),
    [
        ("expect_column_values_to_not_be_null", "user_id", "", BAD["null_user"]),
        ("expect_column_values_to_be_in_set", "type", "churn, click", BAD["unknown_type"]),
        ("expect_column_values_to_be_between", "ts", "now", BAD["future"]),
        ("expect_column_values_to_be_between", "position", "", BAD["position"]),
        ("expect_column_values_to_be_in_set", "type", "where item_id is null", BAD["no_item"]),
        ("expect_column_values_to_be_between", "dwell_ms", "", BAD["dwell"]),
        ("expect_column_values_to_be_between", "ts", f"where dt = {DAY2}", BAD["outside"]),
    ],
)
def test_each_corruption_fails_naming_its_rows(
    corrupted: SuiteResult, expectation: str, column: str, expected_part: str, bad_id: str
) -> None:
    """A broken rule fails its expectation, and the offending event_id is in the sample."""
    outcome = find(corrupted, expectation, column, expected_part)
    assert not outcome.success
    assert outcome.unexpected_count and outcome.unexpected_count >= 1
    assert bad_id in sample_ids(outcome)


def test_duplicate_event_ids_fail(corrupted: SuiteResult) -> None:
    """A repeated event_id is found over the whole batch (pyarrow), naming the id and its rows."""
    outcome = find(corrupted, "expect_column_values_to_be_unique", "event_id")
    assert not outcome.success and outcome.engine == "pyarrow"
    assert outcome.unexpected_sample == [{"event_id": f"{DAY2}-0", "rows": 2}]


def test_corrupted_lake_fails_exactly_the_broken_rules(corrupted: SuiteResult) -> None:
    """Only the broken rules fail; the rest of the suite (replays, freshness, types...) still passes."""
    assert not corrupted.success
    assert {(o.expectation, o.column) for o in corrupted.failed} == {
        ("expect_column_values_to_not_be_null", "user_id"),
        ("expect_column_values_to_be_in_set", "type"),  # unknown type, and a click without item
        ("expect_column_values_to_be_between", "ts"),  # in the future, and outside its partition
        ("expect_column_values_to_be_between", "position"),
        ("expect_column_values_to_be_between", "dwell_ms"),
        ("expect_column_values_to_be_unique", "event_id"),
    }
    assert len(corrupted.failed) == 8


def test_replayed_batch_under_new_ids_fails(tmp_path: Path) -> None:
    """The same events sent again with fresh event_ids fail the replay check, not the id check."""
    events = clean_events(DAY1, sessions=30, seed=8)
    replay = events.slice(0, 10)
    fresh = pa.array([f"replay-{i}" for i in range(10)])
    replay = replay.set_column(replay.schema.get_field_index("event_id"), "event_id", fresh)
    root = write_lake(tmp_path / "events", events, replay)
    result = validate_events(str(root), DAY1, DAY1, NOW)
    assert find(result, "expect_column_values_to_be_unique", "event_id").success
    replayed = find(result, "expect_compound_columns_to_be_unique", "user_id, ts, type, item_id")
    assert not replayed.success and replayed.unexpected_count == 20


def test_type_drift_is_named_by_file(clean_lake: Path, tmp_path: Path) -> None:
    """A file whose column has another Arrow type fails the type check, naming the file."""
    events = clean_events(DAY1, sessions=20, seed=3)
    drifted = events.set_column(
        events.schema.get_field_index("position"), "position", events["position"].cast(pa.int64())
    )
    root = write_lake(tmp_path / "events", events)
    folder = root / f"dt={DAY1}" / "hour=03"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(drifted.slice(0, 5), folder / "drifted.parquet")
    result = validate_events(str(root), DAY1, DAY1, NOW, config=ValidateConfig(freshness_lag=timedelta(days=1)))
    outcome = find(result, "expect_column_values_to_be_of_type", "position")
    assert not outcome.success
    assert outcome.unexpected_sample == [{"file": f"dt={DAY1}/hour=03/drifted.parquet", "type": "int64"}]


def test_row_count_bound_against_state_fails(clean_lake: Path) -> None:
    """A day far below the previous run's count (from the state file) fails its bound."""
    state = RowCountState(events={DAY1 - timedelta(days=1): 100_000})
    result = validate_events(str(clean_lake), DAY1, DAY1, NOW, state=state)
    outcome = find(result, "expect_table_row_count_to_be_between", f"dt={DAY1}")
    assert not outcome.success and not outcome.skipped
    assert "previous 100,000" in outcome.expected
    assert not result.success


def test_row_count_bound_within_the_window(tmp_path: Path) -> None:
    """A day with a tenth of the previous day's events fails; the tolerance is configurable."""
    root = write_lake(tmp_path / "events", clean_events(DAY1, 200, seed=4), clean_events(DAY2, 20, seed=5))
    result = validate_events(str(root), DAY1, DAY2, NOW)
    assert not find(result, "expect_table_row_count_to_be_between", f"dt={DAY2}").success
    loose = validate_events(str(root), DAY1, DAY2, NOW, config=ValidateConfig(row_count_tolerance=0.95))
    assert find(loose, "expect_table_row_count_to_be_between", f"dt={DAY2}").success


def test_missing_day_in_the_window_fails(clean_lake: Path) -> None:
    """A day of the window without any events fails (no data), even without a previous count."""
    result = validate_events(str(clean_lake), DAY1, DAY2 + timedelta(days=1), NOW + timedelta(days=1))
    outcome = find(result, "expect_table_row_count_to_be_between", f"dt={DAY2 + timedelta(days=1)}")
    assert not outcome.success and outcome.note == "no data"


def test_stale_window_fails_freshness(tmp_path: Path) -> None:
    """Events that stop hours before the window's end fail freshness."""
    events = clean_events(DAY1, 50, seed=6)
    early = events.filter(pa.compute.less(events["ts"], pa.scalar(at(DAY1, 12), pa.timestamp("us", tz="UTC"))))
    result = validate_events(str(write_lake(tmp_path / "events", early)), DAY1, DAY1, NOW)
    outcome = find(result, "expect_column_max_to_be_between", "ts")
    assert not outcome.success
    assert outcome.observed_value is not None and float(outcome.observed_value) > 3 * 3600


def test_sample_still_counts_everything(clean_lake: Path) -> None:
    """With a sample, row-level checks see fewer rows but counts and uniqueness see all of them."""
    result = validate_events(str(clean_lake), DAY1, DAY2, NOW, config=ValidateConfig(sample_rows=100))
    assert result.rows_checked == 100 < result.rows
    assert find(result, "expect_column_values_to_not_be_null", "event_id").rows_checked == 100
    assert find(result, "expect_column_values_to_be_unique", "event_id").rows_checked == result.rows
    assert sum(result.row_counts.values()) == result.rows


def test_missing_lake_is_an_input_error(tmp_path: Path) -> None:
    """A lake folder that does not exist raises a clear ValidationInputError."""
    with pytest.raises(ValidationInputError, match="does not exist"):
        validate_events(str(tmp_path / "nowhere"), DAY1, DAY1, NOW)


def test_empty_window_is_an_input_error(clean_lake: Path) -> None:
    """A window with no partitions names the days the lake does hold."""
    with pytest.raises(ValidationInputError, match=f"holds {DAY1} to {DAY2}"):
        validate_events(str(clean_lake), date(2025, 6, 1), date(2025, 6, 2), NOW)


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    """A file that is not Parquet raises a ValidationInputError naming it."""
    root = write_lake(tmp_path / "events", clean_events(DAY1, 10, seed=7))
    (root / f"dt={DAY1}" / "hour=01").mkdir(exist_ok=True)
    (root / f"dt={DAY1}" / "hour=01" / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValidationInputError, match="broken.parquet"):
        validate_events(str(root), DAY1, DAY1, NOW)


def test_naive_now_is_rejected(clean_lake: Path) -> None:
    """``now`` must carry a timezone."""
    with pytest.raises(ValidationInputError, match="timezone"):
        validate_events(str(clean_lake), DAY1, DAY1, datetime(2026, 1, 2))


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=event_tables(max_rows=30))
def test_any_protocol_valid_day_passes_the_row_level_suite(tmp_path: Path, table: pa.Table) -> None:
    """Property: every event table that obeys the protocol passes every row-level expectation."""
    assume(table.num_rows > 0)
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:  # a fresh lake per example
        root = write_lake(Path(folder) / "events", table)
        now = DAY_START + timedelta(days=2)
        config = ValidateConfig(freshness_lag=timedelta(days=1))
        result = validate_events(str(root), DAY_START.date(), DAY_START.date(), now.astimezone(UTC), config=config)
    assert result.success, [o for o in result.outcomes if o.status == "failed"]
