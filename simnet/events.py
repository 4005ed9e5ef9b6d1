"""Building the world's events as Arrow tables, many thousands at a time.

Events are gathered as numpy columns while a tick is simulated and become one
table with :data:`simnet.protocol.EVENT_SCHEMA`, sorted by time, when the
tick ends. Event ids are ``<run_id>-<sequence>``, so a rerun of the same world
produces the same ids and ingestion can drop replays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE, EventType

TYPES = list(EventType)
TYPE_CODE = {t: i for i, t in enumerate(TYPES)}
NONE = -1


@dataclass
class EventLog:
    """Columns of the events of one tick, in the order they were produced."""

    _cols: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {k: [] for k in ("type", "ts", "user", "item", "request", "position", "dwell")}
    )
    _requests: list[str] = field(default_factory=list)
    _arms: list[str] = field(default_factory=list)
    _versions: list[str] = field(default_factory=list)
    _texts: list[str] = field(default_factory=list)
    _images: list[np.ndarray] = field(default_factory=list)
    _content_items: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(c) for c in self._cols["ts"])

    def requests(self, request_ids: list[str], arms: list[str], versions: list[str]) -> int:
        """Register the responses of a batch; returns the index of the first, for :meth:`add`."""
        base = len(self._requests)
        self._requests.extend(request_ids)
        self._arms.extend(arms)
        self._versions.extend(versions)
        return base

    def add(
        self,
        type_: EventType,
        ts_us: np.ndarray,
        user: np.ndarray,
        item: np.ndarray | None = None,
        request: np.ndarray | None = None,
        position: np.ndarray | None = None,
        dwell_ms: np.ndarray | None = None,
    ) -> None:
        """Append events of one type; absent columns are null."""
        n = len(ts_us)
        if n == 0:
            return

        def col(a: np.ndarray | None) -> np.ndarray:
            return np.full(n, NONE, dtype=np.int64) if a is None else np.asarray(a, dtype=np.int64)

        self._cols["type"].append(np.full(n, TYPE_CODE[type_], dtype=np.int8))
        self._cols["ts"].append(np.asarray(ts_us, dtype=np.int64))
        self._cols["user"].append(col(user))
        self._cols["item"].append(col(item))
        self._cols["request"].append(col(request))
        self._cols["position"].append(col(position))
        self._cols["dwell"].append(col(dwell_ms))

    def content(self, items: np.ndarray, texts: list[str], images: np.ndarray) -> None:
        """Attach text and image to the create events of ``items`` (added with :meth:`add`)."""
        self._content_items.append(np.asarray(items, dtype=np.int64))
        self._texts.extend(texts)
        self._images.append(images.reshape(len(texts), IMAGE_SIZE))

    def table(self, run_id: str, first_seq: int) -> pa.Table:
        """All events as one table sorted by time, numbered from ``first_seq``."""
        if len(self) == 0:
            return EVENT_SCHEMA.empty_table()
        c = {k: np.concatenate(v) for k, v in self._cols.items()}
        order = np.argsort(c["ts"], kind="stable")
        c = {k: v[order] for k, v in c.items()}
        n = c["ts"].size

        def nullable(a: np.ndarray, dtype: pa.DataType) -> pa.Array:
            return pa.array(a, type=dtype, mask=a == NONE)

        request = nullable(c["request"], pa.int64())
        seq = pa.array(np.arange(first_seq, first_seq + n, dtype=np.int64))
        columns = {
            "event_id": pc.binary_join_element_wise(run_id, pc.cast(seq, pa.string()), "-"),
            "ts": pa.array(c["ts"], type=pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "user_id": pa.array(c["user"], type=pa.int64()),
            "type": pa.array([t.value for t in TYPES]).take(pa.array(c["type"])),
            "item_id": nullable(c["item"], pa.int64()),
            "request_id": pa.array(self._requests, type=pa.string()).take(request),
            "position": nullable(c["position"], pa.int32()),
            "arm": pa.array(self._arms, type=pa.string()).take(request),
            "model_version": pa.array(self._versions, type=pa.string()).take(request),
            "dwell_ms": nullable(c["dwell"], pa.int64()),
            **self._content_columns(c, n),
        }
        return pa.table(columns, schema=EVENT_SCHEMA)

    def _content_columns(self, c: dict[str, np.ndarray], n: int) -> dict[str, pa.Array]:
        """Text and image columns: values on create events, null elsewhere."""
        rows = np.full(n, NONE, dtype=np.int64)
        if self._content_items:
            items = np.concatenate(self._content_items)
            is_create = c["type"] == TYPE_CODE[EventType.CREATE]
            where = np.flatnonzero(is_create)
            lookup = np.full(int(items.max()) + 1, NONE, dtype=np.int64)
            lookup[items] = np.arange(items.size)
            rows[where] = lookup[c["item"][where]]
        index = pa.array(rows, type=pa.int64(), mask=rows == NONE)
        texts = pa.array(self._texts, type=pa.string())
        pixels = np.concatenate(self._images) if self._images else np.empty((0, IMAGE_SIZE), np.uint8)
        images = pa.FixedSizeListArray.from_arrays(pa.array(pixels.ravel(), type=pa.uint8()), IMAGE_SIZE)
        return {"text": texts.take(index), "image": images.take(index).cast(pa.list_(pa.uint8()))}
