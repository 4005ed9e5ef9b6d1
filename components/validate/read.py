"""Reading what the gate validates: a window of the event lake, and the ETL's output tables.

Only the columns the suites need are read (never the events' content payload). Column types
are taken from every file's footer, so a writer that drifted from the schema is named. A
missing lake, an empty window or an unreadable file raises :class:`ValidationInputError`,
which the CLI prints as one line.
"""

from __future__ import annotations

import logging
import posixpath
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from components.etl.tables import Table, arrow_schema
from components.storage import Root, StorageOptions, resolve
from simnet.protocol import LAKE_PARTITIONS, lake_day_of

log = logging.getLogger(__name__)

PARTITIONING = ds.partitioning(
    pa.schema([(LAKE_PARTITIONS[0], pa.string()), (LAKE_PARTITIONS[1], pa.int32())]), flavor="hive"
)
"""The lake's ``dt=YYYY-MM-DD/hour=HH`` layout (simnet.protocol); ``dt`` stays a string (as in the folder name)."""


class ValidationInputError(Exception):
    """What was asked for cannot be read: no lake, an empty window, an unreadable file."""


@dataclass
class Batch:
    """The data of one suite: the rows read, and the column types seen per file."""

    table: pa.Table
    source: str
    files: int
    types: dict[str, dict[pa.DataType, list[str]]]  # per column, the files each type was seen in


def _filesystem(root: str | Root, storage: StorageOptions | None = None) -> tuple[pafs.FileSystem, str]:
    """The root resolved by the storage resolver (as the ingest service resolves it), or a clear input error."""
    try:
        return resolve(root, storage).arrow()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, ImportError) as error:
        raise ValidationInputError(f"cannot open {root}: {error}") from error


def _listing(fs: pafs.FileSystem, path: str, what: str) -> list[pafs.FileInfo]:
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.Directory:
        raise ValidationInputError(f"{what} {path} does not exist or is not a folder")
    try:
        return list(fs.get_file_info(pafs.FileSelector(path, recursive=False)))
    except OSError as error:
        raise ValidationInputError(f"cannot list {what} {path}: {error}") from error


def _parquet_files(fs: pafs.FileSystem, folder: str) -> list[str]:
    """Data files under ``folder``, skipping hidden and ``_``-prefixed names (temporary, _SUCCESS)."""
    found = fs.get_file_info(pafs.FileSelector(folder, recursive=True))
    return sorted(
        f.path
        for f in found
        if f.type == pafs.FileType.File
        and not any(part.startswith((".", "_")) for part in posixpath.relpath(f.path, folder).split("/"))
    )


def _types_seen(dataset: ds.FileSystemDataset, base: str) -> dict[str, dict[pa.DataType, list[str]]]:
    """Per column, the Arrow types in the files' footers and the files (relative paths) per type."""
    seen: dict[str, dict[pa.DataType, list[str]]] = defaultdict(lambda: defaultdict(list))
    for fragment in dataset.get_fragments():
        name = posixpath.relpath(fragment.path, base)
        try:
            schema = fragment.physical_schema
        except (pa.ArrowException, OSError) as error:
            raise ValidationInputError(f"cannot read {fragment.path}: {error}") from error
        for field in schema:
            seen[field.name][field.type].append(name)
    return {column: dict(types) for column, types in seen.items()}


def window_days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    if end < start:
        raise ValidationInputError(f"the window ends ({end}) before it starts ({start})")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def read_events(
    lake: str,
    start: date,
    end: date,
    columns: Sequence[str],
    schema: pa.Schema,
    *,
    storage: StorageOptions | None = None,
) -> Batch:
    """The window's events: ``columns`` of ``schema`` plus ``dt`` and ``hour``, from every file."""
    fs, base = _filesystem(lake, storage)
    wanted = set(window_days(start, end))
    listing = _listing(fs, base, "lake")
    folders = sorted(i.path for i in listing if lake_day_of(i.base_name) in wanted)
    files = [f for folder in folders for f in _parquet_files(fs, folder)]
    if not files:
        days = sorted(d for i in listing if (d := lake_day_of(i.base_name)) is not None)
        present = f"it holds {days[0]} to {days[-1]}" if days else f"it holds no {LAKE_PARTITIONS[0]}= partitions"
        raise ValidationInputError(f"no events in {lake} from {start} to {end} ({present})")
    read_schema = pa.schema([schema.field(c) for c in columns] + list(PARTITIONING.schema))
    dataset = ds.dataset(
        files, schema=read_schema, format="parquet", filesystem=fs, partitioning=PARTITIONING, partition_base_dir=base
    )
    types = _types_seen(dataset, base)
    try:
        table = dataset.to_table(columns=[*columns, *LAKE_PARTITIONS])
    except (pa.ArrowException, OSError) as error:
        raise ValidationInputError(f"cannot read the events of {lake} from {start} to {end}: {error}") from error
    log.info("read %s events from %s files of %s (%s to %s)", f"{table.num_rows:,}", len(files), lake, start, end)
    return Batch(table, f"{lake} {start}..{end}", len(files), types)


def read_table(etl_out: str, table: Table, *, storage: StorageOptions | None = None) -> Batch | None:
    """An ETL output table (every column), or None when its folder is absent or holds no files."""
    fs, base = _filesystem(etl_out, storage)
    _listing(fs, base, "ETL output")
    folder = f"{base}/{table.name}"
    if fs.get_file_info(folder).type != pafs.FileType.Directory:
        return None
    files = _parquet_files(fs, folder)
    if not files:
        return None
    try:
        dataset = ds.dataset(files, format="parquet", filesystem=fs, partitioning="hive", partition_base_dir=folder)
        types = _types_seen(dataset, folder)
        data = dataset.to_table()
    except (pa.ArrowException, OSError) as error:
        raise ValidationInputError(f"cannot read table {table.name} under {etl_out}: {error}") from error
    # a table written partitioned by a column (say date=...) carries it in folder names only
    expected = arrow_schema(table)
    for name in set(data.column_names) - set(types):
        if name in expected.names:
            i = data.schema.get_field_index(name)
            try:
                data = data.set_column(i, name, data[name].cast(expected.field(name).type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # left as read; the type check names it
            types[name] = {data.schema.field(name).type: [posixpath.relpath(f, folder) for f in files]}
    log.info("read table %s: %s rows from %s files", table.name, f"{data.num_rows:,}", len(files))
    return Batch(data, f"{etl_out}/{table.name}", len(files), types)
