"""Writing events in the lake layout: ``<root>/dt=YYYY-MM-DD/hour=HH/<name>.parquet``.

The root is a local path or any URL pyarrow's filesystems understand (s3://,
gs://, ...). Timestamps are written in microseconds (Spark rejects
nanoseconds).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

US_PER_HOUR = 3_600_000_000


def partition_path(root: str, dt: str, hour: int) -> str:
    return f"{root.rstrip('/')}/dt={dt}/hour={hour:02d}"


def write_partitioned(table: pa.Table, root: str, name: str) -> list[str]:
    """Write ``table`` split by the hour of its ``ts`` column; returns the files written."""
    if len(table) == 0:
        return []
    fs, base = pafs.FileSystem.from_uri(root) if "://" in root else (pafs.LocalFileSystem(), root)
    hours = pc.cast(table["ts"], pa.int64()).to_numpy() // US_PER_HOUR
    written = []
    for h in np.unique(hours):
        part = table.filter(pa.array(hours == h))
        stamp = np.datetime64(int(h), "h")
        dt, hour = (
            str(stamp.astype("datetime64[D]")),
            int((stamp - stamp.astype("datetime64[D]")).astype(int)),
        )
        folder = partition_path(base, dt, hour)
        fs.create_dir(folder, recursive=True)
        path = f"{folder}/{name}.parquet"
        pq.write_table(part, path, filesystem=fs, coerce_timestamps="us", compression="zstd")
        written.append(path)
    return written
