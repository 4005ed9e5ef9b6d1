"""Validated events to the lake's columnar form, and that form to and from bytes.

The store keeps each accepted batch as one Arrow IPC stream (a blob) with
:data:`~simnet.protocol.EVENT_SCHEMA`, so flushing is concatenating blobs and writing Parquet:
no per-event work after the request. Building the table column by column from
:class:`~simnet.protocol.Event` objects is several times faster than the protocol's generic
``events_to_table`` (which goes through ``model_dump``), and gives the same table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from simnet.protocol import EVENT_SCHEMA, Event

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(ts: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware timestamp."""
    return (ts - _EPOCH) // _ONE_US


def events_table(events: Sequence[Event]) -> pa.Table:
    """The events as one table with :data:`EVENT_SCHEMA`, in order (``ts`` in UTC microseconds)."""
    s = EVENT_SCHEMA
    columns = [
        pa.array([e.event_id for e in events], s.field("event_id").type),
        pa.array([to_us(e.ts) for e in events], pa.int64()).cast(s.field("ts").type),
        pa.array([e.user_id for e in events], s.field("user_id").type),
        pa.array([e.type.value for e in events], s.field("type").type),
        pa.array([e.item_id for e in events], s.field("item_id").type),
        pa.array([e.request_id for e in events], s.field("request_id").type),
        pa.array([e.position for e in events], s.field("position").type),
        pa.array([e.arm for e in events], s.field("arm").type),
        pa.array([e.model_version for e in events], s.field("model_version").type),
        pa.array([e.dwell_ms for e in events], s.field("dwell_ms").type),
        pa.array([e.text for e in events], s.field("text").type),
        pa.array([e.image for e in events], s.field("image").type),
    ]
    return pa.Table.from_arrays(columns, schema=s)


def to_ipc(table: pa.Table) -> bytes:
    """A table as an Arrow IPC stream (uncompressed: a memory copy, cheaper than the fsync)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def from_ipc(blobs: Iterable[bytes]) -> pa.Table:
    """The tables of several IPC streams, concatenated in order."""
    tables = [pa.ipc.open_stream(blob).read_all() for blob in blobs]
    return pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
