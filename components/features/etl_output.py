"""Reading the ETL's feature tables directly with Arrow: checks before Feast touches them, stats, latest rows.

Feast's own errors for a missing or mis-shaped source are long stack traces from Dask or Spark;
these checks fail first with a message naming the table, the path and the command that writes it.
:func:`latest_rows` is what materialisation hands Feast's online store: each entity's latest row
in an interval, read with the interval pushed down to the Parquet scan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from components.etl.tables import arrow_type
from components.features.errors import MissingEtlOutputError
from components.features.views import TIMESTAMP_COLUMN, ViewSpec, table_uri
from components.storage import StorageOptions, resolve

log = logging.getLogger(__name__)

_PRODUCE = "write it with `tinyworld etl --start YYYY-MM-DD --end YYYY-MM-DD --out {out}`"


def dataset(uri: str, *, storage: StorageOptions | None = None) -> Any:
    """The Parquet dataset under ``uri`` (Spark's ``_SUCCESS`` and hidden files ignored).

    Raises :class:`MissingEtlOutputError` when the folder is absent or holds no Parquet file.
    """
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    fs, path = resolve(uri, storage).arrow()
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise MissingEtlOutputError(f"no ETL table at {uri}")
    try:
        data = ds.dataset(path, format="parquet", filesystem=fs)
    except (OSError, ValueError) as error:
        raise MissingEtlOutputError(f"cannot read the ETL table at {uri}: {error}") from error
    if not data.files:
        raise MissingEtlOutputError(f"the ETL table at {uri} holds no Parquet files")
    return data


def check_tables(etl_out: str, views: tuple[ViewSpec, ...], *, storage: StorageOptions | None = None) -> dict[str, int]:
    """Check every view's table exists under ``etl_out`` with the columns it serves; return rows per table."""
    import pyarrow.fs as pafs

    fs, root = resolve(etl_out, storage).arrow()
    if fs.get_file_info(root).type != pafs.FileType.Directory:
        raise MissingEtlOutputError(f"the ETL output {etl_out} does not exist; {_PRODUCE.format(out=etl_out)}")
    rows: dict[str, int] = {}
    for spec in views:
        uri = table_uri(etl_out, spec.table)
        try:
            data = dataset(uri, storage=storage)
        except MissingEtlOutputError as error:
            raise MissingEtlOutputError(f"{error}; {_PRODUCE.format(out=etl_out)}") from None
        needed = [spec.join_key, TIMESTAMP_COLUMN, *spec.feature_names]
        missing = [name for name in needed if name not in data.schema.names]
        if missing:
            raise MissingEtlOutputError(
                f"the ETL table at {uri} lacks columns {missing} that feature view {spec.name} serves; "
                "it was written by an older ETL: run the ETL again"
            )
        for name in needed:
            column = spec.table.column(name)
            found, wanted = data.schema.field(name).type, arrow_type(column.dtype)
            if not _compatible(found, wanted):
                raise MissingEtlOutputError(f"column {name} of {uri} is {found}, not {wanted} (tables.py)")
        rows[spec.name] = int(data.count_rows())
        log.info("ETL table %s: %s rows at %s", spec.name, f"{rows[spec.name]:,}", uri)
    return rows


def _compatible(found: Any, wanted: Any) -> bool:
    """Whether an Arrow type read from Parquet matches the declared one (list field names aside)."""
    import pyarrow as pa

    if pa.types.is_list(found) and pa.types.is_list(wanted):
        return bool(found.value_type.equals(wanted.value_type))
    if pa.types.is_timestamp(found) and pa.types.is_timestamp(wanted):
        return True  # unit and zone are normalised by Feast; the ETL writes microseconds, UTC
    return bool(found.equals(wanted))


def latest_timestamp(uri: str, *, storage: StorageOptions | None = None) -> datetime | None:
    """The latest ``event_timestamp`` of the table at ``uri`` (UTC), or None when it has no rows."""
    import pyarrow.compute as pc

    column = dataset(uri, storage=storage).to_table(columns=[TIMESTAMP_COLUMN]).column(TIMESTAMP_COLUMN)
    latest = pc.max(column).as_py()
    return latest if isinstance(latest, datetime) else None


def latest_rows(
    uri: str,
    key: str,
    columns: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    storage: StorageOptions | None = None,
) -> Any:
    """Each ``key``'s latest row with ``start <= event_timestamp <= end``, as an Arrow table ordered by ``key``.

    The table holds ``key``, ``event_timestamp`` and ``columns``. As when Feast materialises, the row
    kept is the one with the latest ``event_timestamp``; of rows sharing it, the one read last. Rows
    without a key are dropped.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    ts = ds.field(TIMESTAMP_COLUMN)
    wanted = [key, TIMESTAMP_COLUMN, *(c for c in columns if c not in (key, TIMESTAMP_COLUMN))]
    window = (ts >= start) & (ts <= end) & ds.field(key).is_valid()
    rows = dataset(uri, storage=storage).to_table(columns=wanted, filter=window)
    if rows.num_rows == 0:
        return rows
    order = pc.sort_indices(rows, sort_keys=[(key, "ascending"), (TIMESTAMP_COLUMN, "ascending")])  # stable
    keys = rows.column(key).take(order).combine_chunks()
    last = pc.not_equal(keys.slice(0, len(keys) - 1), keys.slice(1))  # the next row is another key's
    return rows.take(order.filter(pa.concat_arrays([last, pa.array([True])]))).combine_chunks()
