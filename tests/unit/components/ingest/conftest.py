"""Fixtures for the ingest unit tests: protocol events as JSON, configs, and reading the lake back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from components.ingest import IngestConfig
from simnet.protocol import IMAGE_SIZE

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


@pytest.fixture
def config(tmp_path: Path) -> IngestConfig:
    """A config on a fresh lake and state under tmp_path; slow timers so tests flush explicitly."""
    return IngestConfig(
        lake_root=str(tmp_path / "lake"),
        state_path=tmp_path / "state" / "ingest.sqlite",
        flush_interval_s=3600,
        max_batch_events=100,
    )


def read_lake(root: Path) -> pa.Table:
    """Every event in a local lake, with its dt and hour partition columns."""
    if not root.exists():
        return pa.table({"event_id": pa.array([], pa.string())})
    return ds.dataset(root, format="parquet", partitioning="hive").to_table()


@pytest.fixture
def lake_ids() -> Callable[[Path], list[str]]:
    """The event ids in a local lake, one entry per stored row (so duplicates would show)."""
    return lambda root: sorted(read_lake(root)["event_id"].to_pylist())
