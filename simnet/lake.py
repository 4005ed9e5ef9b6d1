"""Writing events in the lake layout of :mod:`simnet.protocol`: ``<root>/dt=YYYY-MM-DD/hour=HH/<name>.parquet``.

The root is a local path or any URL pyarrow's filesystems understand (s3://, gs://, ...), or a
path on a ``filesystem`` the caller opened (an object store with its own endpoint and
credentials). Timestamps are written in microseconds (Spark rejects nanoseconds).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from simnet.protocol import lake_partitions


def open_root(root: str, filesystem: pafs.FileSystem | None = None) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a lake root (``filesystem`` given: ``root`` is a path on it)."""
    if filesystem is not None:
        return filesystem, root.rstrip("/")
    if "://" in root:
        fs, base = pafs.FileSystem.from_uri(root)
        return fs, base.rstrip("/")
    return pafs.LocalFileSystem(), root.rstrip("/") or root


def write_partitioned(table: pa.Table, root: str, name: str, filesystem: pafs.FileSystem | None = None) -> list[str]:
    """Write ``table`` split by the hour of its ``ts`` column; returns the files written."""
    if len(table) == 0:
        return []
    fs, base = open_root(root, filesystem)
    written = []
    for partition, part in lake_partitions(table):
        folder = f"{base}/{partition}"
        fs.create_dir(folder, recursive=True)
        path = f"{folder}/{name}.parquet"
        pq.write_table(part, path, filesystem=fs, coerce_timestamps="us", compression="zstd")
        written.append(path)
    return written
