"""Tests for :mod:`simnet.protocol`: event validation, the columnar form and batch alignment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from pydantic import ValidationError

from simnet.protocol import (
    EVENT_SCHEMA,
    IMAGE_SIZE,
    ITEM_EVENTS,
    LAKE_PARTITIONS,
    MAX_SLATE,
    Event,
    EventType,
    RecommendationBatchRequest,
    RecommendationBatchResponse,
    events_to_table,
    lake_day_dir,
    lake_day_of,
    lake_partition_dir,
    lake_partitions,
    table_to_events,
)
from tests.strategies import event_tables

TS = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _event(**fields: Any) -> dict[str, Any]:
    """A valid impression, with ``fields`` replaced (None removes a field)."""
    base: dict[str, Any] = {
        "event_id": "e1",
        "ts": TS,
        "user_id": 3,
        "type": "impression",
        "item_id": 7,
        "request_id": "r1",
        "position": 0,
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def _create(**fields: Any) -> dict[str, Any]:
    return _event(type="create", request_id=None, position=None, text="w0001 w0002", image=[0] * IMAGE_SIZE) | fields


def test_a_valid_event_of_every_type_validates() -> None:
    """A minimal, well-formed event of each type is accepted (so the rejections below are specific)."""
    for kind in EventType:
        fields: dict[str, Any] = {"type": kind.value}
        if kind not in ITEM_EVENTS:
            fields |= {"item_id": None, "request_id": None, "position": None}
        if kind is EventType.DWELL:
            fields["dwell_ms"] = 1500
        if kind is EventType.CREATE:
            Event.model_validate(_create())
            continue
        Event.model_validate(_event(**fields))


def _rejected(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        Event.model_validate(data)
    return str(info.value)


@pytest.mark.parametrize(
    ("data", "names"),
    [
        pytest.param(_event(item_id=None), ["impression events need an item_id"], id="item-event-without-item"),
        pytest.param(_event(type="click", item_id=None), ["click events need an item_id"], id="click-without-item"),
        pytest.param(
            _event(type="signup", request_id=None, position=None, item_id=4),
            ["signup events carry no item_id"],
            id="signup-with-item",
        ),
        pytest.param(
            _event(type="churn", request_id=None, position=None, item_id=4),
            ["churn events carry no item_id"],
            id="churn-with-item",
        ),
        pytest.param(_event(type="dwell"), ["dwell events need dwell_ms"], id="dwell-without-dwell_ms"),
        pytest.param(_create(text=None), ["create events need text and image"], id="no-text"),
        pytest.param(_create(image=None), ["create events need text and image"], id="no-image"),
        pytest.param(_create(image=[0] * (IMAGE_SIZE - 1)), [f"image must be {IMAGE_SIZE} values"], id="short"),
        pytest.param(_create(image=[0] * (IMAGE_SIZE + 3)), [f"image must be {IMAGE_SIZE} values"], id="long"),
        pytest.param(_create(image=[256] * IMAGE_SIZE), ["0..255"], id="pixel-too-big"),
        pytest.param(_event(text="hello"), ["only create events carry text and image"], id="text-on-impression"),
        pytest.param(_event(ts=datetime(2026, 1, 1, 12)), ["timestamp must carry a timezone"], id="naive-ts"),
        pytest.param(_event(user_id=-1), ["user_id", "greater than or equal to 0"], id="negative-user"),
        pytest.param(_event(item_id=-2), ["item_id", "greater than or equal to 0"], id="negative-item"),
        pytest.param(_event(position=MAX_SLATE), ["position", "less than"], id="position-past-max-slate"),
        pytest.param(_event(type="dwell", dwell_ms=-5), ["dwell_ms"], id="negative-dwell"),
        pytest.param(_event(type="purchase"), ["type", "impression"], id="unknown-type"),
        pytest.param(_event(colour="red"), ["colour", "Extra inputs are not permitted"], id="extra-field"),
        pytest.param(_event(event_id=""), ["event_id"], id="empty-event-id"),
    ],
)
def test_bad_events_are_rejected_with_a_message_naming_the_problem(data: dict[str, Any], names: list[str]) -> None:
    """Each kind of malformed event raises a ValidationError whose message names the problem."""
    message = _rejected(data)
    for name in names:
        assert name in message


def test_timestamps_are_normalised_to_utc() -> None:
    """An aware timestamp in another zone is accepted and stored as the same instant in UTC."""
    cet = timezone(timedelta(hours=1))
    event = Event.model_validate(_event(ts=datetime(2026, 1, 1, 13, tzinfo=cet)))
    assert event.ts == TS
    assert event.ts.utcoffset() == timedelta(0)


def test_events_are_frozen() -> None:
    """Events are immutable once validated."""
    event = Event.model_validate(_event())
    with pytest.raises(ValidationError):
        event.user_id = 4  # type: ignore[misc]


def test_event_schema_matches_the_model_field_for_field() -> None:
    """EVENT_SCHEMA's column names equal Event.model_fields, in the same order."""
    assert EVENT_SCHEMA.names == list(Event.model_fields)
    assert EVENT_SCHEMA.field("ts").type == pa.timestamp("us", tz="UTC")


@given(event_tables())
def test_table_round_trips_through_events(table: pa.Table) -> None:
    """table -> table_to_events -> events_to_table gives back an equal table (values and schema)."""
    events = table_to_events(table)
    assert len(events) == len(table)
    back = events_to_table(events)
    assert back.schema.equals(EVENT_SCHEMA)
    assert back.equals(table)


def test_events_round_trip_through_the_table() -> None:
    """events -> events_to_table -> table_to_events gives equal events, create content included."""
    events = [
        Event.model_validate(_event()),
        Event.model_validate(_event(event_id="e2", type="dwell", dwell_ms=2000, arm="a", model_version="v1")),
        Event.model_validate(_create(event_id="e3", image=list(range(IMAGE_SIZE)))),
        Event.model_validate(_event(event_id="e4", type="signup", item_id=None, request_id=None, position=None)),
    ]
    assert table_to_events(events_to_table(events)) == events


def test_events_to_table_of_nothing_is_empty_with_the_schema() -> None:
    """No events give an empty table that still has EVENT_SCHEMA."""
    table = events_to_table([])
    assert len(table) == 0
    assert table.schema.equals(EVENT_SCHEMA)


def test_table_to_events_rejects_bad_rows() -> None:
    """A table row that breaks the protocol (a click without item_id) raises on conversion."""
    table = pa.Table.from_pylist([_event(type="click", item_id=None)], schema=EVENT_SCHEMA)
    with pytest.raises(ValidationError, match="click events need an item_id"):
        table_to_events(table)


def _batch(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request_ids": ["r0", "r1"],
        "item_ids": [[1, 2], [3]],
        "scores": [[0.5, 0.4], [0.1]],
        "arms": ["a", "a"],
        "model_versions": ["v", "v"],
        "fallback": [False, True],
    }
    return base | fields


def test_aligned_batch_response_validates() -> None:
    """A response with one entry per request in every column, and one score per item, is valid."""
    response = RecommendationBatchResponse.model_validate(_batch())
    assert response.item_ids == [[1, 2], [3]]


@pytest.mark.parametrize(
    "column", ["item_ids", "scores", "arms", "model_versions", "fallback"], ids=lambda c: f"short-{c}"
)
def test_batch_response_columns_must_align(column: str) -> None:
    """Dropping the last entry of any column makes the response invalid, naming the alignment rule."""
    short = _batch()
    short[column] = short[column][:-1]
    if column == "item_ids":
        short["scores"] = short["scores"][:-1]  # keep the scores aligned with the items
    with pytest.raises(ValidationError, match="one entry per request"):
        RecommendationBatchResponse.model_validate(short)


def test_batch_response_needs_one_score_per_item() -> None:
    """A slate whose score list is shorter than its item list is rejected."""
    with pytest.raises(ValidationError, match="one score per item"):
        RecommendationBatchResponse.model_validate(_batch(scores=[[0.5], [0.1]]))


def test_batch_request_rejects_negative_users_and_bad_k() -> None:
    """Batch requests need non-negative user ids, a timezone-aware ts and 1 <= k <= MAX_SLATE."""
    with pytest.raises(ValidationError, match="user_ids must be >= 0"):
        RecommendationBatchRequest(user_ids=[1, -1], ts=TS)
    for k in (0, MAX_SLATE + 1):
        with pytest.raises(ValidationError, match="k"):
            RecommendationBatchRequest(user_ids=[1], k=k, ts=TS)
    with pytest.raises(ValidationError, match="timezone"):
        RecommendationBatchRequest(user_ids=[1], ts=datetime(2026, 1, 1))


def test_lake_folders_are_hive_style_day_and_hour() -> None:
    """The layout is dt=YYYY-MM-DD/hour=HH (two-digit hour), from a date or an ISO string."""
    assert LAKE_PARTITIONS == ("dt", "hour")
    assert lake_day_dir(date(2026, 1, 2)) == lake_day_dir("2026-01-02") == "dt=2026-01-02"
    assert lake_partition_dir(date(2026, 1, 2), 7) == "dt=2026-01-02/hour=07"
    with pytest.raises(ValueError, match="0..23"):
        lake_partition_dir(date(2026, 1, 2), 24)
    with pytest.raises(ValueError):
        lake_day_dir("yesterday")


@pytest.mark.parametrize(
    ("folder", "day"),
    [
        ("dt=2026-01-02", date(2026, 1, 2)),
        ("bucket/lake/dt=2026-01-02/", date(2026, 1, 2)),
        ("/abs/lake/dt=2026-12-31", date(2026, 12, 31)),
        ("hour=03", None),
        ("dt=not-a-day", None),
        ("lake", None),
        ("_SUCCESS", None),
    ],
)
def test_lake_day_of_reads_day_folders_only(folder: str, day: date | None) -> None:
    """A day folder (the last path segment) gives its day; any other name gives None."""
    assert lake_day_of(folder) == day


@given(event_tables())
def test_lake_partitions_put_every_row_in_its_utc_hour(table: pa.Table) -> None:
    """Every row lands once, in the folder of its ts's UTC day and hour, folders in time order."""
    parts = lake_partitions(table)
    assert sum(len(rows) for _, rows in parts) == len(table)
    assert [folder for folder, _ in parts] == sorted(folder for folder, _ in parts)
    for folder, rows in parts:
        for ts in rows["ts"].to_pylist():
            assert folder == lake_partition_dir(ts.astimezone(UTC).date(), ts.astimezone(UTC).hour)
