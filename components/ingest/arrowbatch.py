"""An Arrow IPC body to a validated events table, or a refusal that names each bad event and field.

The compact form of ``POST /events`` (``Content-Type: application/vnd.apache.arrow.stream``) is
one Arrow IPC stream with the columns of :data:`~simnet.protocol.EVENT_SCHEMA`. It is held to
exactly the rules of the JSON form (:class:`~simnet.protocol.Event`), checked a column at a time
with ``pyarrow.compute`` and numpy, so a valid batch never becomes Python objects row by row.
Only a refused batch's first bad events are looked at one by one, to name them. A refusal is the
JSON form's :class:`~components.ingest.batch.BatchRejected`, with pydantic's error types and
messages wherever the rule is the same.

The checks, in the order a refusal reports them:

1. the stream: readable, at most ``max_events`` rows (413 beyond), valid buffers (offsets,
   UTF-8), else 422 ``malformed``;
2. the schema: every column of EVENT_SCHEMA with its type (nullability aside; ``ts`` may carry
   any time zone and is converted to UTC) and no other column, else 422 ``malformed`` naming
   each column at fault;
3. each field's own rules, in field order: nulls in required fields, the constraints declared on
   ``Event``'s fields (lengths, bounds; read from the model, so they cannot drift), the event
   type, timestamps that have no UTC datetime, null pixels;
4. for events whose fields are all valid, the first broken cross-field rule, in the order of
   ``Event._consistent`` (item_id, dwell_ms, text and image).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TypeAlias

import annotated_types as at
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import AfterValidator

from components.ingest.batch import (
    MAX_LISTED_ERRORS,
    TS_RANGE_MESSAGE,
    BatchRejected,
    EventError,
    field_named_in,
    invalid_batch,
    too_many_events,
)
from components.ingest.columnar import to_us
from simnet.protocol import ARROW_STREAM, EVENT_SCHEMA, IMAGE_SHAPE, IMAGE_SIZE, ITEM_EVENTS, Event, EventType

Column: TypeAlias = "pa.Array | pa.ChunkedArray"


def is_arrow_stream(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` header names the Arrow IPC stream form (parameters ignored)."""
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == ARROW_STREAM


@dataclass(frozen=True)
class FieldRule:
    """One rule on one column: where it is broken, and how pydantic words that."""

    field: str  # the column (an Event field)
    type: str  # pydantic's error type for the same rule
    message: str  # pydantic's message for the same rule
    broken: Callable[[Column], Column]  # the column -> true where broken (null counts as not broken)


class ArrowBatchParser:
    """Parses Arrow IPC ``POST /events`` bodies: at most ``max_events`` rows of EVENT_SCHEMA."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events

    def parse(self, body: bytes) -> pa.Table:
        """The batch as a table with exactly EVENT_SCHEMA, all rows valid; raises :class:`BatchRejected`."""
        table = conform(self._read(body))
        check_rows(table)
        return table.cast(EVENT_SCHEMA)  # no nulls left where EVENT_SCHEMA has none

    def _read(self, body: bytes) -> pa.Table:
        try:
            reader = pa.ipc.open_stream(pa.py_buffer(body))
            batches, rows = [], 0
            for batch in reader:
                rows += batch.num_rows
                if rows > self.max_events:
                    raise too_many_events(self.max_events)
                batches.append(batch)
            table = pa.Table.from_batches(batches, schema=reader.schema)
            table.validate(full=True)  # offsets within bounds, strings valid UTF-8
        except (pa.ArrowException, ValueError) as error:
            errors = [EventError(None, None, None, "arrow_invalid", str(error))]
            detail = f"the body must be one Arrow IPC stream ({ARROW_STREAM})"
            raise BatchRejected(422, "malformed", detail, errors) from None
        return table


# -- the schema ----------------------------------------------------------------------------------


def conform(table: pa.Table) -> pa.Table:
    """The table with EVENT_SCHEMA's columns and types, all nullable (``ts`` in UTC); refuses any other."""
    names = table.schema.names
    errors = []
    for name in EVENT_SCHEMA.names:
        expected = EVENT_SCHEMA.field(name).type
        if name not in names:
            errors.append(EventError(None, None, name, "missing", f"column {name!r} is missing: expected {expected}"))
        elif names.count(name) > 1:
            message = f"column {name!r} appears {names.count(name)} times: expected once, as {expected}"
            errors.append(EventError(None, None, name, "duplicate_column", message))
        elif not _same_type(actual := table.schema.field(name).type, expected):
            note = " (a timestamp must carry a time zone)" if _naive_timestamp(actual) else ""
            message = f"column {name!r} has type {actual}: expected {expected}{note}"
            errors.append(EventError(None, None, name, "column_type", message))
    for name in dict.fromkeys(n for n in names if n not in EVENT_SCHEMA.names):
        message = f"unknown column {name!r}: the columns are those of EVENT_SCHEMA ({', '.join(EVENT_SCHEMA.names)})"
        errors.append(EventError(None, None, name, "extra_forbidden", message))
    if errors:
        detail = "the stream's columns are not EVENT_SCHEMA's; nothing of the batch was stored"
        raise BatchRejected(422, "malformed", detail, errors)
    return table.select(EVENT_SCHEMA.names).cast(_NULLABLE)


_NULLABLE = pa.schema([f.with_nullable(True) for f in EVENT_SCHEMA])


def _same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Equal types, except that a timestamp may have any time zone and list items any name or nullability."""
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(actual) and actual.unit == expected.unit and bool(actual.tz)
    if pa.types.is_list(expected):
        return pa.types.is_list(actual) and actual.value_type.equals(expected.value_type)
    return bool(actual.equals(expected))


def _naive_timestamp(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind) and not kind.tz)


# -- each field's own rules -------------------------------------------------------------------------

_TS_MIN_US = to_us(datetime.min.replace(tzinfo=UTC))
_TS_MAX_US = to_us(datetime.max.replace(tzinfo=UTC))
_TYPES = pa.array([t.value for t in EventType], pa.string())
_ENUM_MESSAGE = "Input should be " + ", ".join(repr(t.value) for t in list(EventType)[:-1])
_ENUM_MESSAGE += f" or {list(EventType)[-1].value!r}"
_NULL_ERRORS = {  # a null where the JSON form has a required field holding null
    "string": ("string_type", "Input should be a valid string"),
    "timestamp": ("datetime_type", "Input should be a valid datetime"),
    "integer": ("int_type", "Input should be a valid integer"),
}


def _out_of(low: int, high: int, column: Column) -> Column:
    us = pc.cast(column, pa.int64())
    return pc.or_(pc.less(us, low), pc.greater(us, high))


def _not_a_type(column: Column) -> Column:
    return pc.invert(pc.is_in(column, value_set=_TYPES))  # a null is no type either


def _compare(op: Callable[[Column, object], Column], bound: object, column: Column) -> Column:
    return op(column, bound)


def _length(op: Callable[[Column, object], Column], bound: int, column: Column) -> Column:
    return op(pc.utf8_length(column), bound)


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def _constraint_rule(name: str, constraint: object) -> FieldRule | None:
    """The rule for one constraint on ``Event.<name>``; None for the ones checked elsewhere."""
    match constraint:
        case at.MinLen(min_length=n):
            message = f"String should have at least {n} character{_plural(n)}"
            return FieldRule(name, "string_too_short", message, partial(_length, pc.less, n))
        case at.MaxLen(max_length=n):
            message = f"String should have at most {n} character{_plural(n)}"
            return FieldRule(name, "string_too_long", message, partial(_length, pc.greater, n))
        case at.Ge(ge=v):
            message = f"Input should be greater than or equal to {v}"
            return FieldRule(name, "greater_than_equal", message, partial(_compare, pc.less, v))
        case at.Gt(gt=v):
            message = f"Input should be greater than {v}"
            return FieldRule(name, "greater_than", message, partial(_compare, pc.less_equal, v))
        case at.Le(le=v):
            message = f"Input should be less than or equal to {v}"
            return FieldRule(name, "less_than_equal", message, partial(_compare, pc.greater, v))
        case at.Lt(lt=v):
            message = f"Input should be less than {v}"
            return FieldRule(name, "less_than", message, partial(_compare, pc.greater_equal, v))
        case AfterValidator() if name == "ts":
            return None  # the time zone is the column type's; the range is a rule of its own
    raise TypeError(f"Event.{name} has a constraint the Arrow form cannot check: {constraint!r}")


def field_rules() -> list[FieldRule]:
    """The per-field rules of :class:`Event`, in field order (the order pydantic reports them)."""
    rules = []
    for name, info in Event.model_fields.items():
        kind = EVENT_SCHEMA.field(name).type
        if name == "type":
            rules.append(FieldRule(name, "enum", _ENUM_MESSAGE, _not_a_type))
            continue
        if info.is_required():
            family = "string" if pa.types.is_string(kind) else "timestamp" if pa.types.is_timestamp(kind) else "integer"
            rules.append(FieldRule(name, *_NULL_ERRORS[family], pc.is_null))
        rules += [rule for c in info.metadata if (rule := _constraint_rule(name, c)) is not None]
        if name == "ts":
            rules.append(FieldRule(name, "value_error", TS_RANGE_MESSAGE, partial(_out_of, _TS_MIN_US, _TS_MAX_US)))
    return rules


_FIELD_RULES = field_rules()


def _null_pixels(image: pa.ChunkedArray) -> np.ndarray:
    """Per row: whether its image holds a null pixel (the JSON form's ``int_type`` at ``image.<k>``)."""
    rows = []
    for chunk in image.chunks:
        values = chunk.values  # every chunk's child, unsliced: address it through the offsets
        nulls = np.concatenate([[0], np.cumsum(_np(values.is_null()))]) if values.null_count else None
        if nulls is None:
            rows.append(np.zeros(len(chunk), bool))
            continue
        offsets = chunk.offsets.to_numpy()
        rows.append((nulls[offsets[1:]] > nulls[offsets[:-1]]) & _np(chunk.is_valid()))
    return np.concatenate(rows) if rows else np.zeros(0, bool)


# -- the cross-field rules (Event._consistent, in its order) -------------------------------------------

_ITEM_TYPES = pa.array(sorted(t.value for t in ITEM_EVENTS), pa.string())
_MODEL_MESSAGES: list[Callable[[str], str]] = [
    lambda kind: f"{kind} events need an item_id",
    lambda kind: f"{kind} events carry no item_id",
    lambda kind: "dwell events need dwell_ms",
    lambda kind: "create events need text and image",
    lambda kind: f"image must be {IMAGE_SIZE} values in 0..255 (shape {IMAGE_SHAPE})",
    lambda kind: "only create events carry text and image",
]


def _model_codes(table: pa.Table) -> np.ndarray:
    """Per row: 0 if every cross-field rule holds, else 1 + the index of the first broken one."""
    kind = table["type"]
    item = _np(pc.is_in(kind, value_set=_ITEM_TYPES))
    has_item = _np(pc.is_valid(table["item_id"]))
    dwell = _np(pc.equal(kind, EventType.DWELL.value))
    create = _np(pc.equal(kind, EventType.CREATE.value))
    text, image = _np(pc.is_valid(table["text"])), _np(pc.is_valid(table["image"]))
    pixels = _np(pc.not_equal(pc.list_value_length(table["image"]), IMAGE_SIZE))  # uint8: always 0..255
    broken = [
        item & ~has_item,
        ~item & has_item,
        dwell & ~_np(pc.is_valid(table["dwell_ms"])),
        create & ~(text & image),
        create & pixels,
        ~create & (text | image),
    ]
    return np.select(broken, range(1, len(broken) + 1), 0)


# -- the whole check ----------------------------------------------------------------------------------


def check_rows(table: pa.Table) -> None:
    """Refuse (422, ``invalid``) a conformed table that has any invalid row, naming the first ones."""
    field_bad = np.zeros(len(table), bool)
    broken: list[tuple[FieldRule, np.ndarray]] = []
    for rule in _FIELD_RULES:
        mask = _np(rule.broken(table[rule.field]))
        if mask.any():
            broken.append((rule, mask))
            field_bad |= mask
    pixels = _null_pixels(table["image"])
    model = _model_codes(table)
    model[field_bad | pixels] = 0  # as in pydantic, the model's rules run only on valid fields
    invalid = field_bad | pixels | (model > 0)
    count = int(invalid.sum())
    if count:
        raise invalid_batch(_name_errors(table, np.flatnonzero(invalid)[:MAX_LISTED_ERRORS], broken, model), count)


def _name_errors(
    table: pa.Table, rows: np.ndarray, broken: list[tuple[FieldRule, np.ndarray]], model: np.ndarray
) -> list[EventError]:
    """The errors of the given rows (the slow path: only refused batches, only their first rows)."""
    errors = []
    ids, kinds, images = table["event_id"], table["type"], table["image"]
    for row in map(int, rows):
        event_id = ids[row].as_py() or None
        for rule, mask in broken:
            if mask[row]:
                errors.append(EventError(row, event_id, rule.field, rule.type, rule.message))
        image = images[row]
        if image.is_valid and image.values.null_count:
            for k in np.flatnonzero(_np(image.values.is_null())):
                errors.append(EventError(row, event_id, f"image.{k}", "int_type", "Input should be a valid integer"))
        if model[row]:
            message = "Value error, " + _MODEL_MESSAGES[model[row] - 1](kinds[row].as_py())
            errors.append(EventError(row, event_id, field_named_in(message), "value_error", message))
    return errors


def _np(mask: Column) -> np.ndarray:
    """A boolean column as a numpy array, null as False."""
    filled = pc.fill_null(mask, False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
