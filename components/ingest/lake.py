"""Writing micro-batches to the lake: ``<root>/dt=YYYY-MM-DD/hour=HH/<name>.parquet``.

Rows go to the partition of their event time (``ts``, UTC), one file per partition per
micro-batch. A file appears whole or not at all: on a local disk it is written under a hidden
temporary name (``.``-prefixed, which Spark and pyarrow datasets skip), fsynced, then renamed
over its final name; on an object store a single PUT is already atomic. Writing the same name
twice replaces the file, which is what makes a redone flush exactly-once.

The root is a local path (or ``file://`` URL) or an object-store URL (``s3://bucket/prefix``,
``memory://`` in tests), resolved by :func:`components.storage.resolve`. The layout comes from
:mod:`simnet.protocol`. Timestamps are written in microseconds (Spark rejects nanoseconds).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from components.storage import Root, StorageOptions, resolve
from simnet.protocol import lake_partitions

log = logging.getLogger(__name__)


class LakeWriter:
    """Writes tables with :data:`~simnet.protocol.EVENT_SCHEMA` into the partitioned lake."""

    def __init__(
        self,
        root: str | Root,
        *,
        filesystem: pafs.FileSystem | None = None,
        storage: StorageOptions | None = None,
        compression: str = "zstd",
    ) -> None:
        """``root`` is resolved with ``storage``, unless ``filesystem`` is given (then it is a path on it)."""
        if filesystem is not None:
            self.fs, self.base = filesystem, str(root).rstrip("/")
        else:
            self.fs, self.base = resolve(root, storage).arrow()
        self.root = str(root)
        self.compression = compression
        self._local = isinstance(self.fs, pafs.LocalFileSystem)

    def write(self, table: pa.Table, name: str) -> list[str]:
        """Write ``table`` split by event hour as ``<partition>/<name>.parquet``; returns the paths."""
        written = []
        for folder, part in lake_partitions(table):
            path = f"{self.base}/{folder}/{name}.parquet"
            if self._local:
                self._write_local(part, path)
            else:
                self._write_remote(part, path)
            written.append(path)
        log.debug("wrote %d rows to %d files named %s", len(table), len(written), name)
        return written

    def _write_remote(self, table: pa.Table, path: str) -> None:
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with self.fs.open_output_stream(path) as sink:
            pq.write_table(table, sink, coerce_timestamps="us", compression=self.compression)

    def _write_local(self, table: pa.Table, path: str) -> None:
        final = Path(path)
        folder = final.parent
        created = not folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{final.name}.tmp"
        with open(temporary, "wb") as sink:
            pq.write_table(table, sink, coerce_timestamps="us", compression=self.compression)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, final)
        _fsync_dir(folder)
        if created:  # the new dt=/hour= folders' own entries must be durable too
            _fsync_dir(folder.parent)
            _fsync_dir(folder.parent.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
