"""A JSON request body to validated events, or a refusal that names each bad event and field.

Batches are atomic: one invalid event refuses the whole batch and nothing of it is stored, so a
client fixes or drops the bad events and resends the batch (already stored events would come
back as duplicates, never twice). The body is parsed and validated in one pass by pydantic's
Rust core (``TypeAdapter.validate_json`` on the raw bytes); the slow path that names event ids
runs only for refused batches. :class:`BatchRejected` and :class:`EventError` are shared with the
Arrow form (:mod:`components.ingest.arrowbatch`), so both refuse with the same body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from simnet.protocol import Event

TS_RANGE_MESSAGE = "Value error, timestamp out of range: it must fall in 0001-01-01..9999-12-31 (UTC)"
"""The refusal of a timestamp that has no UTC datetime (the lake partitions by its UTC hour)."""

MAX_LISTED_ERRORS = 100
"""The most errors a refusal lists (it still counts every invalid event), bounding its body."""

_FIELD_NAMES = re.compile(r"\b(" + "|".join(sorted(Event.model_fields, key=len, reverse=True)) + r")\b")


@dataclass(frozen=True)
class EventError:
    """One reason an event was refused."""

    index: int | None  # position of the event in the batch; None when the body itself is wrong
    event_id: str | None  # the event's id, when it has a usable one
    field: str | None  # the offending field (dotted for nested values); None when none can be named
    type: str  # pydantic's error type, e.g. missing, int_parsing, enum, extra_forbidden
    message: str  # pydantic's message, for humans

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "event_id": self.event_id,
            "field": self.field,
            "type": self.type,
            "message": self.message,
        }


@dataclass(eq=False)
class BatchRejected(Exception):
    """A refused batch: the HTTP status, why, and each bad event (nothing of it was stored)."""

    status_code: int
    reason: str  # invalid (422), malformed (422: not a batch of events at all), too_large (413)
    detail: str
    errors: list[EventError] = field(default_factory=list)
    counted: int | None = None  # invalid events in all, when ``errors`` lists only the first ones

    def __str__(self) -> str:
        return self.detail

    @property
    def invalid_events(self) -> int:
        """How many distinct events are invalid (named in ``errors`` or not)."""
        if self.counted is not None:
            return self.counted
        return len({e.index for e in self.errors if e.index is not None})

    def to_json(self) -> dict[str, Any]:
        """The response body."""
        return {
            "detail": self.detail,
            "reason": self.reason,
            "invalid_events": self.invalid_events,
            "errors": [e.to_json() for e in self.errors],
        }


def invalid_batch(errors: list[EventError], invalid_events: int) -> BatchRejected:
    """The 422 for a batch with ``invalid_events`` bad events, listing at most MAX_LISTED_ERRORS errors."""
    listed = "" if len(errors) <= MAX_LISTED_ERRORS else f" (the first {MAX_LISTED_ERRORS} errors are listed)"
    detail = f"{invalid_events} invalid event(s); the whole batch was refused and nothing of it was stored{listed}"
    return BatchRejected(422, "invalid", detail, errors[:MAX_LISTED_ERRORS], counted=invalid_events)


def too_many_events(max_events: int) -> BatchRejected:
    """The 413 for a batch of more than ``max_events`` events."""
    return BatchRejected(413, "too_large", f"a batch holds at most {max_events} events; split it")


class BatchParser:
    """Parses ``POST /events`` bodies: a JSON array of at most ``max_events`` protocol events."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._adapter: TypeAdapter[list[Event]] = TypeAdapter(Annotated[list[Event], Field(max_length=max_events)])

    def parse(self, body: bytes) -> list[Event]:
        """The batch's events, all valid; raises :class:`BatchRejected` otherwise."""
        try:
            return self._adapter.validate_json(body)
        except ValidationError as error:
            raise self._rejection(body, error) from None
        except OverflowError:  # a timestamp whose offset takes it past year 9999 (or before year 1)
            raise self._rejection_by_event(body) from None

    def _rejection(self, body: bytes, error: ValidationError) -> BatchRejected:
        details = error.errors(include_url=False, include_context=False, include_input=False)
        whole = [d for d in details if not d["loc"]]
        if any(d["type"] == "too_long" for d in whole):
            return too_many_events(self.max_events)
        if whole:
            errors = [EventError(None, None, None, d["type"], d["msg"]) for d in whole]
            return BatchRejected(422, "malformed", "the body must be a JSON array of events", errors)
        raw = _raw_events(body)
        errors = []
        for d in details:
            index = int(d["loc"][0])
            path = ".".join(str(part) for part in d["loc"][1:]) or field_named_in(d["msg"])
            errors.append(EventError(index, _event_id(raw, index), path, d["type"], d["msg"]))
        return invalid_batch(errors, len({e.index for e in errors}))

    def _rejection_by_event(self, body: bytes) -> BatchRejected:
        """The refusal, found one event at a time: the slow path for errors pydantic does not catch."""
        raw = _raw_events(body)
        if len(raw) > self.max_events:
            return too_many_events(self.max_events)
        errors = []
        for index, item in enumerate(raw):
            try:
                Event.model_validate_json(json.dumps(item))
            except ValidationError as error:
                for d in error.errors(include_url=False, include_context=False, include_input=False):
                    path = ".".join(str(part) for part in d["loc"]) or field_named_in(d["msg"])
                    errors.append(EventError(index, _event_id(raw, index), path, d["type"], d["msg"]))
            except OverflowError:
                errors.append(EventError(index, _event_id(raw, index), "ts", "value_error", TS_RANGE_MESSAGE))
        return invalid_batch(errors, len({e.index for e in errors}))


def field_named_in(message: str) -> str | None:
    """The first event field a model-level message names (e.g. "click events need an item_id")."""
    found = _FIELD_NAMES.search(message.removeprefix("Value error, "))
    return found.group(1) if found else None


def _raw_events(body: bytes) -> list[Any]:
    """The body as plain JSON values (only for refused batches, to name their event ids)."""
    try:
        raw = json.loads(body)
    except ValueError:
        return []
    return raw if isinstance(raw, list) else []


def _event_id(raw: list[Any], index: int) -> str | None:
    if index >= len(raw) or not isinstance(raw[index], dict):
        return None
    value = raw[index].get("event_id")
    return value if isinstance(value, str) and value else None
