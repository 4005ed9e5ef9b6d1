"""Whole-data checks (pyarrow): uniqueness, row-count bounds, freshness, types, and the state file."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.validate.checks import (
    check_columns,
    check_freshness,
    check_row_count,
    check_types,
    check_unique,
    same_type,
)
from components.validate.results import SuiteResult
from components.validate.run import remember_counts
from components.validate.state import RowCountState, StateError

END = datetime(2026, 1, 2, tzinfo=UTC)


@given(st.lists(st.one_of(st.none(), st.integers(0, 15)), max_size=60))
def test_unique_matches_a_plain_count(values: list[int | None]) -> None:
    """Property: the check passes iff no non-null value repeats; it counts every repeated row."""
    outcome = check_unique(pa.table({"id": pa.array(values, pa.int64())}), ["id"])
    counts = Counter(v for v in values if v is not None)
    repeated = sum(n for n in counts.values() if n > 1)
    assert outcome.success == (repeated == 0)
    assert outcome.unexpected_count == repeated
    assert {r["id"] for r in outcome.unexpected_sample} <= {v for v, n in counts.items() if n > 1}


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 2)), st.sampled_from(["x", "y"])),
        max_size=40,
    )
)
def test_compound_unique_matches_a_plain_count(rows: list[tuple[int, int | None, str]]) -> None:
    """Property: a compound key (ints, a nullable int, a string) is unique iff no triple repeats.

    The check narrows on the null-free integer column first; the verdict must not change.
    """
    schema = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("s", pa.string())])
    table = pa.Table.from_pylist([dict(zip("abs", r, strict=True)) for r in rows], schema=schema)
    outcome = check_unique(table, ["a", "b", "s"])
    counts = Counter(rows)
    assert outcome.success == (len(counts) == len(rows))
    assert outcome.unexpected_count == sum(n for n in counts.values() if n > 1)
    assert outcome.expectation == "expect_compound_columns_to_be_unique"


@given(
    rows=st.integers(0, 10_000),
    previous=st.integers(1, 10_000),
    tolerance=st.floats(0, 2, allow_nan=False),
)
def test_row_count_bound(rows: int, previous: int, tolerance: float) -> None:
    """Property: with a previous count, the bound holds iff rows lie in previous * (1 +- tolerance)."""
    outcome = check_row_count("dt=x", rows, ("dt=w", previous), tolerance, min_rows=1)
    inside = previous * (1 - tolerance) <= rows <= previous * (1 + tolerance)
    assert outcome.success == (rows >= 1 and inside)
    assert not outcome.skipped


def test_row_count_without_previous_is_skipped_unless_empty() -> None:
    """No previous count: skipped with a note; zero rows fail anyway."""
    skipped = check_row_count("dt=x", 10, None, 0.5)
    assert skipped.skipped and skipped.success and "no previous" in skipped.note
    empty = check_row_count("dt=x", 0, None, 0.5)
    assert not empty.success and not empty.skipped


@pytest.mark.parametrize(
    ("newest", "ok"),
    [
        (END - timedelta(minutes=5), True),
        (END - timedelta(hours=3), True),
        (END - timedelta(hours=3, seconds=1), False),
        (END + timedelta(seconds=1), False),
        (None, False),
    ],
)
def test_freshness(newest: datetime | None, ok: bool) -> None:
    """Newest within the lag before the window's end passes; older, later or none fails."""
    assert check_freshness("ts", newest, END, timedelta(hours=3)).success is ok


def test_types_accept_spelling_differences_only() -> None:
    """UTC spellings and list item names are the same type; int32 is not int64."""
    assert same_type(pa.timestamp("us", tz="+00:00"), pa.timestamp("us", tz="UTC"))
    assert same_type(pa.list_(pa.field("element", pa.float32())), pa.list_(pa.float32()))
    assert not same_type(pa.timestamp("ns", tz="UTC"), pa.timestamp("us", tz="UTC"))
    assert not same_type(pa.int32(), pa.int64())


def test_column_and_type_checks_name_files() -> None:
    """A missing column and a drifted type name the column and the files."""
    expected = pa.schema([("a", pa.int64()), ("b", pa.string())])
    seen = {"a": {pa.int64(): ["f1"], pa.int32(): ["f2"]}, "b": {pa.string(): ["f1"]}, "c": {pa.string(): ["f2"]}}
    columns = check_columns(seen, expected, files=2)
    assert not columns.success
    assert columns.observed == "b missing in 1 of 2 files; unexpected column c"
    (a, b) = check_types(seen, expected)
    assert not a.success and a.unexpected_sample == [{"file": "f2", "type": "int32"}]
    assert b.success


def test_state_round_trip_and_previous_day(tmp_path: Path) -> None:
    """Saved state loads back; previous_day finds the latest earlier day; old days are dropped."""
    state = RowCountState()
    state.record_events({date(2026, 1, d): d * 10 for d in range(1, 6)}, keep_days=3)
    state.record_table("dau", 7)
    state.save(tmp_path / "s" / "state.json")
    loaded = RowCountState.load(tmp_path / "s" / "state.json")
    assert loaded == state and sorted(loaded.events) == [date(2026, 1, d) for d in (3, 4, 5)]
    assert loaded.previous_day(date(2026, 1, 5)) == (date(2026, 1, 4), 40)
    assert loaded.previous_day(date(2026, 1, 3)) is None
    assert RowCountState.load(tmp_path / "absent.json") == RowCountState()


def test_corrupt_state_is_a_clear_error(tmp_path: Path) -> None:
    """A state file that is not valid JSON raises StateError naming it."""
    path = tmp_path / "state.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateError, match="state.json"):
        RowCountState.load(path)


def test_only_passing_suites_are_remembered() -> None:
    """Counts of failing suites never become the yardstick for the next run."""
    passed = SuiteResult(name="dau", source="x", rows=5, rows_checked=5, row_counts={"rows": 5})
    failed_check = check_row_count(None, 0, None, 0.5)
    failed = SuiteResult(name="exposure", source="x", rows=0, rows_checked=0, outcomes=[failed_check])
    events = SuiteResult(name="raw_events", source="x", rows=9, rows_checked=9, row_counts={"2026-01-01": 9})
    state = remember_counts(RowCountState(), [passed, failed, events])
    assert state.tables == {"dau": 5}
    assert state.events == {date(2026, 1, 1): 9}
