"""Test data for the validation gate: protocol-valid lakes, corrupted rows, synthetic ETL tables.

Lakes are written in the real layout (``dt=/hour=`` Parquet, via SimNet's writer); the ETL
tables are synthetic, built column by column from :mod:`components.etl.tables` so that they
obey every rule the table suites enforce, with one violation injected where a test wants it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from components.etl.tables import TABLES, TEXT_DIM, Table, arrow_schema
from components.validate.suites import column_bounds
from simnet.lake import write_partitioned
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE

DAY1 = date(2026, 1, 1)
DAY2 = date(2026, 1, 2)
NOW = datetime(2026, 1, 2, 22, 30, tzinfo=UTC)
"""The clock for the two-day lakes: after every clean event (they stop at 22:00 each day)."""

NULLABLE_EVENT_SCHEMA = pa.schema([f.with_nullable(True) for f in EVENT_SCHEMA])
"""EVENT_SCHEMA without its non-null promises: how a buggy writer's file looks."""


def at(day: date, hour: float) -> datetime:
    """``hour`` hours after midnight UTC opening ``day``."""
    return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=hour)


def clean_events(day: date, sessions: int = 150, seed: int = 0) -> pa.Table:
    """Protocol-valid events of one day, 00:00 to 22:00: sessions of slates, clicks and more."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []

    def add(kind: str, ts: datetime, user: int, **fields: Any) -> None:
        rows.append({"event_id": f"{day}-{len(rows)}", "ts": ts, "user_id": user, "type": kind, **fields})

    for s in range(sessions):
        user = int(rng.integers(0, 300))
        t = at(day, float(rng.uniform(0, 21.9)))
        if s % 25 == 0:
            add("signup", t, user)
        slate = {"request_id": f"{day}-r{s}", "arm": "control", "model_version": "v1"}
        items = rng.integers(0, 100, size=5)
        for position, item in enumerate(items):
            add("impression", t + timedelta(milliseconds=position), user, item_id=int(item), position=position, **slate)
        if rng.random() < 0.5:
            position = int(rng.integers(0, 5))
            clicked = {"item_id": int(items[position]), "position": position, **slate}
            add("click", t + timedelta(seconds=1), user, **clicked)
            add("dwell", t + timedelta(seconds=30), user, dwell_ms=int(rng.integers(1_000, 60_000)), **clicked)
            if rng.random() < 0.3:
                add("like", t + timedelta(seconds=31), user, **clicked)
        if s % 30 == 0:
            add("create", t + timedelta(seconds=40), user, item_id=100 + s, text="cats dogs", image=[7] * IMAGE_SIZE)
            add("follow", t + timedelta(seconds=41), (user + 1) % 300, item_id=100 + s)
    rows[-1]["ts"] = at(day, 22)  # the newest event of the day, for freshness
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def write_lake(root: Path, *tables: pa.Table, name: str = "part") -> Path:
    """Write event tables into a lake at ``root`` (one file per hour per table); returns the root."""
    for i, table in enumerate(tables):
        write_partitioned(table, str(root), f"{name}-{i}")
    return root


BAD = {
    "null_user": "bad-null-user",
    "unknown_type": "bad-type",
    "future": "bad-future",
    "position": "bad-position",
    "no_item": "bad-no-item",
    "outside": "bad-outside-partition",
    "dwell": "bad-dwell",
}
"""Event ids of the corrupted rows, one per kind of corruption."""


def corrupt_rows(duplicate_of: str) -> pa.Table:
    """Rows that break one rule each, written as a buggy writer would (nullable schema).

    Each at its own minute, so no two of them look like one event sent twice.
    """
    base = {"user_id": 1, "type": "impression", "item_id": 3, "position": 0, "request_id": "rq", "arm": "control"}
    rows = [
        {**base, "event_id": BAD["null_user"], "ts": at(DAY2, 5 + 1 / 60), "user_id": None},
        {**base, "event_id": BAD["unknown_type"], "ts": at(DAY2, 5 + 2 / 60), "type": "teleport"},
        {**base, "event_id": BAD["future"], "ts": at(DAY2, 23)},
        {**base, "event_id": BAD["position"], "ts": at(DAY2, 5 + 3 / 60), "position": 100},
        {**base, "event_id": BAD["no_item"], "ts": at(DAY2, 5 + 4 / 60), "type": "click", "item_id": None},
        {**base, "event_id": BAD["dwell"], "ts": at(DAY2, 5 + 5 / 60), "type": "dwell", "dwell_ms": 4_000_000},
        {**base, "event_id": duplicate_of, "ts": at(DAY2, 5 + 6 / 60)},
    ]
    return pa.Table.from_pylist(rows, schema=NULLABLE_EVENT_SCHEMA)


# --- ETL tables ------------------------------------------------------------------------------

END = date(2026, 1, 7)
"""Last day of the synthetic ETL window."""


def _values(table: Table, n: int) -> dict[str, pa.Array]:
    """Valid columns for ``n`` rows: every key column distinct per row, values inside their ranges."""
    window_end = at(END + timedelta(days=1), 0)
    columns: dict[str, pa.Array] = {}
    for column in table.columns:
        kind = arrow_schema(table).field(column.name).type
        bounds = column_bounds(column)
        if column.dtype == "date":
            values: list[Any] = [END - timedelta(days=i) for i in range(n)]
        elif column.dtype == "timestamp":
            values = [window_end - timedelta(minutes=i + 1) for i in range(n)]
        elif column.dtype in ("bigint", "int"):
            top = None if bounds is None or bounds.max_value is None else int(bounds.max_value) - int(bounds.strict_max)
            values = [i if top is None else min(i, top) for i in range(n)]
        elif column.dtype in ("double", "float"):
            low = 0.0 if bounds is None or bounds.min_value is None else bounds.min_value
            high = low if bounds is None or bounds.max_value is None else bounds.max_value
            values = [(low + high) / 2] * n
        elif column.dtype == "string":
            values = [f"{column.name}-{i}" for i in range(n)]
        elif column.dtype == "boolean":
            values = [i == 0 for i in range(n)]
        elif column.dtype == "array<float>":
            values = [[1.0 / TEXT_DIM] * TEXT_DIM for _ in range(n)]
        else:
            raise AssertionError(f"no generator for {column.dtype}")
        columns[column.name] = pa.array(values, type=kind)
    return columns


def etl_table(table: Table, n: int = 5, **changes: Callable[[list[Any]], list[Any]]) -> pa.Table:
    """A valid table of ``n`` rows; ``changes`` maps a column to a function rewriting its values."""
    columns = _values(table, n)
    schema = arrow_schema(table)
    for name, change in changes.items():
        columns[name] = pa.array(change(columns[name].to_pylist()), type=schema.field(name).type)
    return pa.table(columns, schema=pa.schema([f.with_nullable(True) for f in schema]))


def write_etl(root: Path, tables: dict[str, pa.Table] | None = None) -> Path:
    """Write every ETL table (valid ones unless given) as ``<root>/<name>/part-0.parquet``, with _SUCCESS."""
    given = tables or {}
    for table in TABLES:
        folder = root / table.name
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(given.get(table.name, etl_table(table)), folder / "part-00000.parquet")
        (folder / "_SUCCESS").touch()
    return root
