"""Fixtures for the ingest unit tests: protocol events as JSON or Arrow, configs, reading the lake back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from components.ingest import IngestConfig, LakeWriter
from components.ingest.columnar import to_ipc, to_us
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE
from tests.lake import read_lake

NULLABLE_SCHEMA = pa.schema([f.with_nullable(True) for f in EVENT_SCHEMA])
"""EVENT_SCHEMA with every column nullable: a client may send nulls, which the server must refuse."""

EventFactory = Callable[..., dict[str, Any]]


def _event(n: int, kind: str = "click", ts: str = "2026-01-01T10:15:00Z", **fields: Any) -> dict[str, Any]:
    """A valid event of type ``kind`` as its JSON object; ``fields`` override or add fields."""
    event: dict[str, Any] = {"event_id": f"ev-{n}", "ts": ts, "user_id": n % 97, "type": kind}
    if kind in {"impression", "click", "like", "share", "dwell"}:
        event |= {"item_id": n % 13, "request_id": f"req-{n // 10}", "position": n % 10}
        event |= {"arm": "control", "model_version": "v1"}
    elif kind in {"follow", "create"}:
        event["item_id"] = n % 13
    if kind == "dwell":
        event["dwell_ms"] = 1500
    if kind == "create":
        event |= {"text": "cats and dogs", "image": [n % 256] * IMAGE_SIZE}
    return event | fields


@pytest.fixture
def make_event() -> EventFactory:
    """``make_event(n, kind="click", ts=..., **fields)``: a valid event's JSON object."""
    return _event


@pytest.fixture
def body() -> Callable[[list[dict[str, Any]]], bytes]:
    """Events to a request body."""
    return lambda events: json.dumps(events).encode()


def arrow_table(events: list[dict[str, Any]], schema: pa.Schema = NULLABLE_SCHEMA) -> pa.Table:
    """Events given as their JSON objects, as an Arrow table (a missing field is a null).

    ``ts`` is an ISO string with an offset, or an int of microseconds since the epoch (to reach
    instants a Python datetime cannot hold). Fields with no column (an unknown key) are dropped.
    """
    rows = []
    for event in events:
        row = {name: event.get(name) for name in schema.names}
        if isinstance(row["ts"], str):
            row["ts"] = to_us(datetime.fromisoformat(row["ts"]))
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=schema)


@pytest.fixture
def arrow_body() -> Callable[[list[dict[str, Any]]], bytes]:
    """Events (their JSON objects) to an Arrow IPC request body."""
    return lambda events: to_ipc(arrow_table(events))


@pytest.fixture
def config(tmp_path: Path) -> IngestConfig:
    """A config on a fresh lake and state under tmp_path; slow timers so tests flush explicitly."""
    return IngestConfig(
        lake_root=str(tmp_path / "lake"),
        state_path=tmp_path / "state" / "ingest.sqlite",
        flush_interval_s=3600,
        max_batch_events=100,
    )


class BrokenLake(LakeWriter):
    """A lake that refuses writes while ``broken`` is set."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.broken = True

    def write(self, table: pa.Table, name: str) -> list[str]:
        if self.broken:
            raise OSError("lake unreachable")
        return super().write(table, name)


@pytest.fixture
def lake_ids() -> Callable[[Path], list[str]]:
    """The event ids in a local lake, one entry per stored row (so duplicates would show)."""
    return lambda root: sorted(read_lake(root)["event_id"].to_pylist())
