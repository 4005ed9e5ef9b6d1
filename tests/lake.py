"""Reading a local event lake in tests, as a reader polling it during a flush would."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds


def read_lake(root: Path) -> pa.Table:
    """Every event in a local lake, with its dt and hour partition columns.

    No events (an empty ``event_id`` column) while the root is missing or a flush has made its
    folders but not yet renamed its file: the writer's temporary file is dot-prefixed, which
    datasets skip, and a dataset of no files has no event columns.
    """
    dataset = ds.dataset(root, format="parquet", partitioning="hive") if root.exists() else None
    if dataset is None or not dataset.files:
        return pa.table({"event_id": pa.array([], pa.string())})
    return dataset.to_table()
