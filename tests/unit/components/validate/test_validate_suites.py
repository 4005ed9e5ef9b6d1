"""Suite builders: the events suite follows the protocol; table suites follow tables.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from components.etl.tables import BY_NAME, TABLES
from components.validate.engine import expectation_columns
from components.validate.suites import (
    ARRAY_LENGTHS,
    COLUMN_BOUNDS,
    RATE_COLUMNS,
    UNBOUNDED_COLUMNS,
    Bounds,
    column_bounds,
    events_suite,
    frame_column,
    freshness_column,
    protocol_bounds,
    table_suite,
)
from simnet.protocol import EVENT_SCHEMA, MAX_SLATE, EventType


def kinds(suite: Any) -> list[tuple[str, str | None]]:
    """(expectation type, column) of every expectation in a suite."""
    return [(e.expectation_type, getattr(e, "column", None)) for e in suite.expectations]


def test_protocol_bounds_come_from_the_event_model() -> None:
    """position is [0, MAX_SLATE), dwell_ms [0, 1 hour], ids >= 0, as simnet.protocol.Event says."""
    assert protocol_bounds("position") == Bounds(0, MAX_SLATE, strict_max=True)
    assert protocol_bounds("dwell_ms") == Bounds(0, 3_600_000)
    assert protocol_bounds("user_id") == Bounds(0, None)
    assert Bounds(0, MAX_SLATE, strict_max=True).describe("position") == "0 <= position < 100"


def test_events_suite_covers_the_protocol() -> None:
    """Required fields are non-null, the type is an EventType, one window check per day."""
    days = [date(2026, 1, 1), date(2026, 1, 2)]
    suite = events_suite(days, datetime(2026, 1, 3, tzinfo=UTC))
    found = kinds(suite)
    required = {f.name for f in EVENT_SCHEMA if not f.nullable}
    assert {c for k, c in found if k == "expect_column_values_to_not_be_null"} == required
    expectations: list[Any] = list(suite.expectations)
    in_set = [e for e in expectations if e.expectation_type == "expect_column_values_to_be_in_set"]
    assert set(in_set[0].value_set) == {t.value for t in EventType}
    assert set(in_set[1].value_set) == {"signup", "churn"}
    assert expectation_columns(in_set[1]) == ["type", "item_id"]
    windows = [e for e in expectations if e.column == "ts" and getattr(e, "min_value", None) is not None]
    assert [expectation_columns(e) for e in windows] == [["ts", "dt"], ["ts", "dt"]]
    assert all(e.meta and e.meta["why"] and e.meta["expected"] for e in expectations)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_table_suite_follows_the_definition(table: Any) -> None:
    """Non-nullable columns get not-null; nullable ones do not; rates get [0, 1]."""
    suite = table_suite(table)
    not_null = {c for k, c in kinds(suite) if k == "expect_column_values_to_not_be_null"}
    assert not_null == {frame_column(c) for c in table.columns if not c.nullable}
    assert set(table.key) <= not_null | {c.name for c in table.columns if c.nullable}
    expectations: list[Any] = list(suite.expectations)
    ranged = {e.column: e for e in expectations if e.expectation_type == "expect_column_values_to_be_between"}
    for column in table.columns:
        if column.name in RATE_COLUMNS:
            assert (ranged[column.name].min_value, ranged[column.name].max_value) == (0, 1)
        if column.dtype in ("bigint", "int"):
            assert ranged[column.name].min_value is not None and ranged[column.name].min_value >= 0


def test_every_double_column_has_a_declared_range() -> None:
    """Each double column of tables.py is a rate, has explicit bounds or is deliberately unbounded.

    When this fails, the ETL added a column: declare its range in components/validate/suites.py.
    """
    undeclared = [
        f"{t.name}.{c.name}"
        for t in TABLES
        for c in t.columns
        if c.dtype in ("double", "float") and c.name not in RATE_COLUMNS | set(COLUMN_BOUNDS) | UNBOUNDED_COLUMNS
    ]
    assert undeclared == []


def test_array_columns_are_checked_by_length() -> None:
    """text_vec and content_profile are validated through len(...) with their fixed length."""
    for table in TABLES:
        for column in table.columns:
            if column.dtype.startswith("array<"):
                assert column.name in ARRAY_LENGTHS
                assert frame_column(column) == f"len({column.name})"


def test_column_bounds_defaults() -> None:
    """Integer columns default to >= 0; unknown doubles have no range; label is 0 or 1."""
    interactions = BY_NAME["interactions"]
    assert column_bounds(interactions.column("user_id")) == Bounds(0, None)
    assert column_bounds(interactions.column("label")) == Bounds(0, 1)
    assert column_bounds(BY_NAME["experiments"].column("engagement_diff")) is None


def test_freshness_columns() -> None:
    """date where a table has one, else its first timestamp; none for retention."""
    chosen = {t.name: (c.name if (c := freshness_column(t)) else None) for t in TABLES}
    assert chosen["dau"] == "date"
    assert chosen["user_features"] == "date"
    assert chosen["interactions"] == "ts"
    assert chosen["user_item_engagement"] == "last_ts"
    assert chosen["experiments"] == "date"
    assert chosen["retention"] is None
