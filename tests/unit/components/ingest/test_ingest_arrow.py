"""Parsing Arrow IPC bodies: held to exactly the JSON form's rules, refused with the same errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings

from components.ingest import ArrowBatchParser, BatchParser, BatchRejected
from components.ingest.arrowbatch import field_rules, is_arrow_stream
from components.ingest.batch import MAX_LISTED_ERRORS, TS_RANGE_MESSAGE
from components.ingest.columnar import events_table, to_ipc, to_us
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE, MAX_SLATE, Event, EventType
from tests.strategies import event_tables
from tests.unit.components.ingest.conftest import NULLABLE_SCHEMA, arrow_table

EventFactory = Callable[..., dict[str, Any]]
Body = Callable[[list[dict[str, Any]]], bytes]

_MAX_US = to_us(datetime.max.replace(tzinfo=UTC))  # the last microsecond a datetime can hold


def refuse(body: bytes, max_events: int = 100) -> BatchRejected:
    with pytest.raises(BatchRejected) as caught:
        ArrowBatchParser(max_events).parse(body)
    return caught.value


def refuse_json(body: bytes, max_events: int = 100) -> BatchRejected:
    with pytest.raises(BatchRejected) as caught:
        BatchParser(max_events).parse(body)
    return caught.value


def named(rejection: BatchRejected) -> list[tuple[Any, ...]]:
    return [(e.index, e.event_id, e.field, e.type, e.message) for e in rejection.errors]


def test_every_type_parses_to_the_json_table(make_event: EventFactory, body: Body, arrow_body: Body) -> None:
    """A valid batch of every type comes back with EVENT_SCHEMA, equal to what its JSON form stores."""
    events = [make_event(i, kind.value) for i, kind in enumerate(EventType)]
    table = ArrowBatchParser(100).parse(arrow_body(events))
    assert table.schema == EVENT_SCHEMA
    assert table.equals(events_table(BatchParser(100).parse(body(events))))


@settings(max_examples=25, deadline=None)
@given(table=event_tables())
def test_any_valid_table_is_accepted_unchanged(table: pa.Table) -> None:
    """Whatever valid events a table holds, the parser returns it as it was, and its JSON form agrees."""
    parsed = ArrowBatchParser(1000).parse(to_ipc(table))
    assert parsed.equals(table.cast(EVENT_SCHEMA))
    json_body = ("[" + ",".join(e.model_dump_json() for e in _events(table)) + "]").encode()
    assert events_table(BatchParser(1000).parse(json_body)).equals(parsed)


def _events(table: pa.Table) -> list[Event]:
    return [Event.model_validate(row) for row in table.to_pylist()]


def test_empty_stream_is_an_empty_batch() -> None:
    """A stream with the schema and no rows is a batch of nothing, not an error."""
    assert len(ArrowBatchParser(10).parse(to_ipc(EVENT_SCHEMA.empty_table()))) == 0


# Each rule of Event, broken once: (kind of event, fields to change, field named, error type).
# A field set to None is a null in the Arrow form and a JSON null (or, for optional fields, absent).
RULES = [
    pytest.param("click", {"event_id": ""}, "event_id", "string_too_short", id="event_id-empty"),
    pytest.param("click", {"event_id": "x" * 65}, "event_id", "string_too_long", id="event_id-too-long"),
    pytest.param("click", {"event_id": None}, "event_id", "string_type", id="event_id-null"),
    pytest.param("click", {"ts": None}, "ts", "datetime_type", id="ts-null"),
    pytest.param("click", {"ts": "9999-12-31T23:00:00-05:00"}, "ts", "value_error", id="ts-past-year-9999"),
    pytest.param("click", {"user_id": None}, "user_id", "int_type", id="user_id-null"),
    pytest.param("click", {"user_id": -1}, "user_id", "greater_than_equal", id="user_id-negative"),
    pytest.param("click", {"type": "teleport"}, "type", "enum", id="type-unknown"),
    pytest.param("click", {"type": None}, "type", "enum", id="type-null"),
    pytest.param("click", {"item_id": -1}, "item_id", "greater_than_equal", id="item_id-negative"),
    pytest.param("click", {"request_id": "r" * 65}, "request_id", "string_too_long", id="request_id-too-long"),
    pytest.param("click", {"position": -1}, "position", "greater_than_equal", id="position-negative"),
    pytest.param("click", {"position": MAX_SLATE}, "position", "less_than", id="position-past-slate"),
    pytest.param("click", {"arm": "a" * 65}, "arm", "string_too_long", id="arm-too-long"),
    pytest.param("click", {"model_version": "v" * 65}, "model_version", "string_too_long", id="model_version-long"),
    pytest.param("dwell", {"dwell_ms": -1}, "dwell_ms", "greater_than_equal", id="dwell_ms-negative"),
    pytest.param("dwell", {"dwell_ms": 3_600_001}, "dwell_ms", "less_than_equal", id="dwell_ms-over-an-hour"),
    pytest.param("create", {"text": "t" * 4097}, "text", "string_too_long", id="text-too-long"),
    pytest.param("create", {"image": [1, None] * (IMAGE_SIZE // 2)}, "image.1", "int_type", id="image-null-pixel"),
    pytest.param("click", {"item_id": None}, "item_id", "value_error", id="item-event-without-item_id"),
    pytest.param("follow", {"item_id": None}, "item_id", "value_error", id="follow-without-item_id"),
    pytest.param("signup", {"item_id": 3}, "item_id", "value_error", id="signup-with-item_id"),
    pytest.param("churn", {"item_id": 3}, "item_id", "value_error", id="churn-with-item_id"),
    pytest.param("dwell", {"dwell_ms": None}, "dwell_ms", "value_error", id="dwell-without-dwell_ms"),
    pytest.param("create", {"text": None}, "text", "value_error", id="create-without-text"),
    pytest.param("create", {"image": None}, "text", "value_error", id="create-without-image"),
    pytest.param("create", {"image": [7] * (IMAGE_SIZE - 1)}, "image", "value_error", id="image-wrong-size"),
    pytest.param("click", {"text": "hello"}, "text", "value_error", id="text-on-a-click"),
    pytest.param("like", {"image": [0] * IMAGE_SIZE}, "text", "value_error", id="image-on-a-like"),
]


@pytest.mark.parametrize(("kind", "change", "field", "error_type"), RULES)
def test_each_rule_is_refused_like_json(
    make_event: EventFactory,
    body: Body,
    arrow_body: Body,
    kind: str,
    change: dict[str, Any],
    field: str,
    error_type: str,
) -> None:
    """Each broken rule refuses the batch, naming index, event_id and field, with JSON's very errors.

    If the Arrow form dropped a rule, its batch would be accepted and this test would fail.
    """
    events = [make_event(0), make_event(1, kind) | change, make_event(2)]
    rejection = refuse(arrow_body(events))
    assert (rejection.status_code, rejection.reason, rejection.invalid_events) == (422, "invalid", 1)
    first = rejection.errors[0]
    event_id = change.get("event_id", "ev-1") or None  # an empty or null id is no usable id
    assert (first.index, first.event_id, first.field, first.type) == (1, event_id, field, error_type)
    assert named(rejection) == named(refuse_json(body(events)))


def test_every_constraint_of_event_has_a_rule() -> None:
    """The Arrow form checks each length and bound declared on Event's fields (read from the model)."""
    declared = {
        (name, type(c).__name__)
        for name, info in Event.model_fields.items()
        for c in info.metadata
        if name != "ts"  # its AfterValidator (time zone) is the column type's
    }
    kinds = {
        "string_too_short": "MinLen",
        "string_too_long": "MaxLen",
        "greater_than_equal": "Ge",
        "greater_than": "Gt",
        "less_than_equal": "Le",
        "less_than": "Lt",
    }
    checked = {(r.field, kinds[r.type]) for r in field_rules() if r.type in kinds}
    assert checked == declared


def test_boundaries_are_valid(make_event: EventFactory, arrow_body: Body) -> None:
    """Values right at each bound pass (and lengths count characters, not bytes)."""
    events = [
        make_event(0, event_id="é" * 64, position=MAX_SLATE - 1, arm="a" * 64),
        make_event(1, "dwell", dwell_ms=3_600_000, user_id=0, item_id=0, position=0),
        make_event(2, "create", text="ü" * 4096, image=[255] * IMAGE_SIZE),
        make_event(3, "signup"),
    ]
    assert len(ArrowBatchParser(10).parse(arrow_body(events))) == 4


def test_timestamp_beyond_any_datetime_is_refused(make_event: EventFactory) -> None:
    """A ts no datetime can hold (which would break the lake's hour partitions) is refused."""
    table = arrow_table([make_event(0), make_event(1, ts=_MAX_US + 1)])
    rejection = refuse(to_ipc(table))
    assert named(rejection) == [(1, "ev-1", "ts", "value_error", TS_RANGE_MESSAGE)]


def test_several_bad_events_match_json_in_order(make_event: EventFactory, body: Body, arrow_body: Body) -> None:
    """Many bad events, one with two bad fields, one with a bad field and a broken cross-field rule."""
    events = [
        make_event(0, user_id=-1, position=200),
        make_event(1),
        make_event(2, "signup", user_id=-3, item_id=4),  # the field error hides the cross-field one
        make_event(3, "dwell", dwell_ms=None),
        make_event(4, event_id="x" * 70, text="hi"),
    ]
    rejection = refuse(arrow_body(events))
    assert rejection.invalid_events == 4
    assert [(e.index, e.field) for e in rejection.errors] == [
        (0, "user_id"),
        (0, "position"),
        (2, "user_id"),
        (3, "dwell_ms"),
        (4, "event_id"),
    ]
    assert named(rejection) == named(refuse_json(body(events)))


def test_refusal_lists_the_first_errors_and_counts_all(make_event: EventFactory, body: Body, arrow_body: Body) -> None:
    """A batch with more bad events than are listed still counts every one of them."""
    events = [make_event(i, user_id=-1) for i in range(MAX_LISTED_ERRORS + 50)]
    for rejection in (refuse(arrow_body(events), 1000), refuse_json(body(events), 1000)):
        assert rejection.invalid_events == MAX_LISTED_ERRORS + 50
        assert len(rejection.errors) == MAX_LISTED_ERRORS
        assert rejection.to_json()["invalid_events"] == MAX_LISTED_ERRORS + 50
        assert [e.index for e in rejection.errors] == list(range(MAX_LISTED_ERRORS))


def test_too_many_rows_is_413(make_event: EventFactory) -> None:
    """More rows than max_events is 413, also when they come in several record batches."""
    table = arrow_table([make_event(i) for i in range(11)])
    assert ArrowBatchParser(11).parse(to_ipc(table))
    for stream in (to_ipc(table), _stream(table.to_batches(max_chunksize=4))):
        rejection = refuse(stream, max_events=10)
        assert (rejection.status_code, rejection.reason) == (413, "too_large")


def _stream(batches: list[pa.RecordBatch], schema: pa.Schema = NULLABLE_SCHEMA) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return bytes(sink.getvalue())


def test_several_record_batches_are_one_batch(make_event: EventFactory) -> None:
    """A stream of several record batches is one batch; errors are indexed across the whole stream."""
    table = arrow_table([make_event(i, user_id=-1 if i == 6 else 1) for i in range(9)])
    rejection = refuse(_stream(table.to_batches(max_chunksize=4)))
    assert [(e.index, e.field) for e in rejection.errors] == [(6, "user_id")]
    good = arrow_table([make_event(i) for i in range(9)])
    assert ArrowBatchParser(10).parse(_stream(good.to_batches(max_chunksize=4))).equals(good.cast(EVENT_SCHEMA))


def _with_column(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


@pytest.mark.parametrize(
    ("mutate", "field", "error_type", "says"),
    [
        pytest.param(lambda t: t.drop_columns(["arm"]), "arm", "missing", "expected string", id="missing"),
        pytest.param(
            lambda t: t.append_column("colour", pa.array(["red"] * len(t))),
            "colour",
            "extra_forbidden",
            "unknown column",
            id="extra",
        ),
        pytest.param(
            lambda t: _with_column(t, "user_id", t["user_id"].cast(pa.int32())),
            "user_id",
            "column_type",
            "expected int64",
            id="wrong-type",
        ),
        pytest.param(
            lambda t: _with_column(t, "ts", t["ts"].cast(pa.timestamp("us"))),
            "ts",
            "column_type",
            "time zone",
            id="naive-timestamp",
        ),
        pytest.param(
            lambda t: _with_column(t, "ts", t["ts"].cast(pa.timestamp("ms", tz="UTC"))),
            "ts",
            "column_type",
            "expected timestamp[us, tz=UTC]",
            id="wrong-time-unit",
        ),
        pytest.param(
            lambda t: _with_column(t, "image", t["image"].cast(pa.list_(pa.int64()))),
            "image",
            "column_type",
            "expected list<item: uint8>",
            id="wrong-pixel-type",
        ),
        pytest.param(
            lambda t: pa.Table.from_arrays([*t.columns, t["type"]], names=[*t.schema.names, "type"]),
            "type",
            "duplicate_column",
            "appears 2 times",
            id="duplicate",
        ),
    ],
)
def test_schema_mismatch_names_the_column(
    make_event: EventFactory, mutate: Callable[[pa.Table], pa.Table], field: str, error_type: str, says: str
) -> None:
    """Missing, unknown, repeated or mistyped columns: 422 malformed, naming the column and what was expected."""
    table = mutate(arrow_table([make_event(0), make_event(1, "create")]))
    rejection = refuse(to_ipc(table))
    assert (rejection.status_code, rejection.reason, rejection.invalid_events) == (422, "malformed", 0)
    [error] = rejection.errors
    assert (error.index, error.event_id, error.field, error.type) == (None, None, field, error_type)
    assert says in error.message


def test_nullability_order_time_zone_and_list_item_name_do_not_matter(make_event: EventFactory) -> None:
    """EVENT_SCHEMA's own non-null fields, other column orders, other time zones, other list item names pass."""
    events = [make_event(0, ts="2026-01-01T01:30:00+02:00"), make_event(1, "create")]
    strict = arrow_table(events, EVENT_SCHEMA)
    expected = strict.cast(EVENT_SCHEMA)
    paris = _with_column(strict, "ts", strict["ts"].cast(pa.timestamp("us", tz="Europe/Paris")))
    element = pa.list_(pa.field("element", pa.uint8(), nullable=False))
    renamed = _with_column(strict, "image", strict["image"].cast(element))
    shuffled = strict.select(list(reversed(strict.schema.names)))
    for table in (strict, arrow_table(events), paris, renamed, shuffled):
        parsed = ArrowBatchParser(10).parse(to_ipc(table))
        assert parsed.schema == EVENT_SCHEMA and parsed.equals(expected)
    assert parsed["ts"][0].as_py().isoformat() == "2025-12-31T23:30:00+00:00"


@pytest.mark.parametrize(
    "payload",
    [b"", b"junk", b'[{"event_id": "x"}]', b"\xff\xff\xff\xff\x10\x00\x00\x00"],
    ids=["empty", "junk", "json", "truncated-header"],
)
def test_body_that_is_not_a_stream_is_malformed(payload: bytes) -> None:
    """Bodies that are not an Arrow IPC stream get a 422 malformed that names no event."""
    rejection = refuse(payload)
    assert (rejection.status_code, rejection.reason, rejection.invalid_events) == (422, "malformed", 0)
    assert rejection.errors and all(e.index is None for e in rejection.errors)


def test_cut_stream_and_invalid_utf8_are_malformed(make_event: EventFactory, arrow_body: Body) -> None:
    """A stream cut short, or strings that are not UTF-8, are refused rather than stored."""
    whole = arrow_body([make_event(i) for i in range(5)])
    assert refuse(whole[: len(whole) // 2]).reason == "malformed"
    table = arrow_table([make_event(0)])
    bad_utf8 = pa.array([b"\xff\xfe"], pa.binary()).view(pa.string())
    assert refuse(to_ipc(_with_column(table, "arm", bad_utf8))).reason == "malformed"


@pytest.mark.parametrize(
    ("header", "arrow"),
    [
        ("application/vnd.apache.arrow.stream", True),
        ("Application/Vnd.Apache.Arrow.Stream; charset=binary", True),
        ("application/json", False),
        ("application/vnd.apache.arrow.file", False),
        (None, False),
    ],
)
def test_content_type_selects_the_form(header: str | None, arrow: bool) -> None:
    """Only the Arrow stream media type (any case, any parameters) selects the Arrow form; JSON is the default."""
    assert is_arrow_stream(header) is arrow
