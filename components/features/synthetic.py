"""Synthetic feature tables with the ETL's exact schemas, for tests, benchmarks and demos.

Every value encodes where it came from: entity ``i`` on stamp number ``k`` (0-based) holds
``i * 1000 + k`` in every numeric feature (``+ 0.5`` for floating ones; vectors repeat it), so a
test can read back which day's row a joined value was taken from with :func:`stamp_of`.
Only the tables' declared columns are written, typed by :func:`components.etl.tables.arrow_schema`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from components.etl.tables import TEXT_DIM, Table, arrow_schema

log = logging.getLogger(__name__)

STAMP_BASE = 1000
"""Values are ``entity * STAMP_BASE + stamp``: up to 1000 stamps per entity are told apart."""


def stamp_of(value: float) -> int:
    """The stamp number a synthetic value was written for (see the module docstring)."""
    return int(value) % STAMP_BASE


def marker(entity_id: int, stamp: int) -> int:
    """The integer every numeric feature of entity ``entity_id`` holds on stamp number ``stamp``."""
    return entity_id * STAMP_BASE + stamp


def _column(dtype: str, ids: Sequence[int], stamps: Sequence[int]) -> list[Any]:
    marks = [marker(i, k) for i, k in zip(ids, stamps, strict=True)]
    if dtype in ("bigint", "int"):
        return marks
    if dtype in ("double", "float"):
        return [m + 0.5 for m in marks]
    if dtype == "array<float>":
        return [[float(m)] * TEXT_DIM for m in marks]
    raise ValueError(f"no synthetic values for type {dtype}")


def synthetic_table(
    table: Table,
    ids: Sequence[int],
    stamps: Sequence[datetime],
    creator_of: Callable[[int], int] | None = None,
) -> Any:
    """A pyarrow table of ``table`` with one row per id per stamp (stamps are aware UTC datetimes).

    ``date`` is the day before each stamp (the ETL stamps a day's row at the midnight closing it);
    ``creator_id`` of an item is ``creator_of(item_id)`` (default ``item_id % 10``) on every day.
    """
    import pyarrow as pa

    key = table.key[0]
    row_ids = [i for _ in stamps for i in ids]
    row_stamps = [k for k in range(len(stamps)) for _ in ids]
    moments = [stamps[k] for k in row_stamps]
    columns: dict[str, list[Any]] = {}
    for column in table.columns:
        if column.name == key:
            columns[column.name] = row_ids
        elif column.name == "date":
            columns[column.name] = [(m - timedelta(days=1)).date() for m in moments]
        elif column.name == "event_timestamp":
            columns[column.name] = moments
        elif column.name == "creator_id":
            link = creator_of or (lambda item: item % 10)
            columns[column.name] = [link(i) for i in row_ids]
        else:
            columns[column.name] = _column(column.dtype, row_ids, row_stamps)
    return pa.table(columns, schema=arrow_schema(table))


def write_table(root: Path, table: Table, data: Any, part: str = "part-00000") -> Path:
    """Write ``data`` as ``<root>/<table>/<part>.parquet`` (a table may hold several parts)."""
    import pyarrow.parquet as pq

    folder = root / table.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{part}.parquet"
    pq.write_table(data, path)
    log.info("wrote %s synthetic rows of %s to %s", data.num_rows, table.name, path)
    return path
