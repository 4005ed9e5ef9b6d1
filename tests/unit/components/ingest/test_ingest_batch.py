"""Parsing POST /events bodies: valid batches pass; refusals name each bad event and its field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.ingest import BatchParser, BatchRejected
from simnet.protocol import EventType

EventFactory = Callable[..., dict[str, Any]]
Body = Callable[[list[dict[str, Any]]], bytes]


def refuse(body: bytes, max_events: int = 100) -> BatchRejected:
    with pytest.raises(BatchRejected) as caught:
        BatchParser(max_events).parse(body)
    return caught.value


def test_every_event_type_parses(make_event: EventFactory, body: Body) -> None:
    """One valid event of each type comes back as that Event, in order."""
    events = [make_event(i, kind.value) for i, kind in enumerate(EventType)]
    parsed = BatchParser(100).parse(body(events))
    assert [e.type for e in parsed] == list(EventType)
    assert [e.event_id for e in parsed] == [e["event_id"] for e in events]


def test_empty_batch_is_valid() -> None:
    """``[]`` is a batch of nothing, not an error."""
    assert BatchParser(10).parse(b"[]") == []


@pytest.mark.parametrize(
    ("change", "drop", "field", "error_type"),
    [
        pytest.param({}, "user_id", "user_id", "missing", id="missing-field"),
        pytest.param({"user_id": "alice"}, None, "user_id", "int_parsing", id="wrong-type"),
        pytest.param({"type": "teleport"}, None, "type", "enum", id="unknown-event-type"),
        pytest.param({"ts": "2026-01-01T10:15:00"}, None, "ts", "value_error", id="naive-timestamp"),
        pytest.param({}, "item_id", "item_id", "value_error", id="item-event-without-item-id"),
        pytest.param({"colour": "red"}, None, "colour", "extra_forbidden", id="extra-field"),
        pytest.param({"position": 500}, None, "position", "less_than", id="out-of-range"),
    ],
)
def test_refusal_names_event_and_field(
    make_event: EventFactory,
    body: Body,
    change: dict[str, Any],
    drop: str | None,
    field: str,
    error_type: str,
) -> None:
    """Each kind of bad event is refused with its index, event_id, field and error type."""
    bad = {k: v for k, v in (make_event(1) | change).items() if k != drop}
    rejection = refuse(body([make_event(0), bad, make_event(2)]))
    assert rejection.status_code == 422
    assert rejection.reason == "invalid"
    assert rejection.invalid_events == 1
    [error] = rejection.errors
    assert (error.index, error.event_id, error.field, error.type) == (1, "ev-1", field, error_type)
    assert error.message


def test_refusal_names_every_bad_event(make_event: EventFactory, body: Body) -> None:
    """Several bad events (one with several bad fields) are all named; good ones are not."""
    events = [
        make_event(0, ts="yesterday"),
        make_event(1),
        make_event(2, user_id=-1, colour="red"),
        make_event(3, "signup", item_id=4),
    ]
    rejection = refuse(body(events))
    named = sorted((e.index, e.event_id, e.field) for e in rejection.errors)
    assert named == [
        (0, "ev-0", "ts"),
        (2, "ev-2", "colour"),
        (2, "ev-2", "user_id"),
        (3, "ev-3", "item_id"),
    ]
    assert rejection.invalid_events == 3
    payload = rejection.to_json()
    assert payload["invalid_events"] == 3
    assert {"index", "event_id", "field", "type", "message"} <= set(payload["errors"][0])


def test_event_without_usable_id_is_named_by_index(make_event: EventFactory, body: Body) -> None:
    """A bad event with no (or a non-string) event_id is named by its index alone."""
    no_id = {k: v for k, v in make_event(0).items() if k != "event_id"}
    rejection = refuse(body([no_id, make_event(1, event_id=12), 7]))  # type: ignore[list-item]
    by_index = {e.index: e for e in rejection.errors}
    assert by_index[0].event_id is None and by_index[0].field == "event_id"
    assert by_index[1].event_id is None and by_index[1].field == "event_id"
    assert by_index[2].event_id is None and by_index[2].field is None


def test_model_level_errors_name_their_field(make_event: EventFactory, body: Body) -> None:
    """Cross-field rules (dwell without dwell_ms, create without content) name the field involved."""
    dwell = {k: v for k, v in make_event(0, "dwell").items() if k != "dwell_ms"}
    create = make_event(1, "create", image=[1, 2, 3])
    rejection = refuse(body([dwell, create]))
    assert sorted((e.index, e.field) for e in rejection.errors) == [(0, "dwell_ms"), (1, "image")]


@pytest.mark.parametrize("payload", [b"", b"{", b'{"event_id": "x"}', b"null", b'"events"'])
def test_body_that_is_not_an_array_is_malformed(payload: bytes) -> None:
    """Bodies that are not a JSON array get a 422 that names no event."""
    rejection = refuse(payload)
    assert (rejection.status_code, rejection.reason) == (422, "malformed")
    assert rejection.errors and all(e.index is None for e in rejection.errors)


def test_too_many_events_is_413(make_event: EventFactory, body: Body) -> None:
    """A batch over ``max_events`` is refused as too large, even if its events are valid."""
    rejection = refuse(body([make_event(i) for i in range(11)]), max_events=10)
    assert (rejection.status_code, rejection.reason) == (413, "too_large")
    assert BatchParser(10).parse(body([make_event(i) for i in range(10)]))


def test_rejection_body_is_json(make_event: EventFactory, body: Body) -> None:
    """The refusal serialises to JSON as the API returns it."""
    rejection = refuse(body([make_event(0, ts="2026-01-01T10:15:00")]))
    assert json.loads(json.dumps(rejection.to_json()))["errors"][0]["field"] == "ts"
