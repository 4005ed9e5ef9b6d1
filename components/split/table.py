"""The interactions table that splitting and evaluation read, from any data set.

The contract (docs/evaluation.md, DESIGN §5) is a table with at least ``user_id``, ``item_id``
and ``ts``; ``label`` and ``weight`` are optional. SimNet's ETL writes one row per impression
with ``label`` 0/1, but a ratings or clicks log from elsewhere works as well.

What counts as a **positive** (what evaluation tries to retrieve and what it never recommends
back) is decided once, here, by :func:`positive_mask`:

1. with a ``label`` column: rows with ``label == 1`` (SimNet: the impression was clicked);
2. else with a ``weight`` column: rows with ``weight > 0``;
3. else every row (an implicit-feedback log in which each row is an interaction).

Reading accepts a Parquet file, a folder of Parquet files (as the ETL writes), or an
object-store URL to either (resolved by :func:`components.storage.resolve`). Problems the user
can fix raise :class:`InteractionsError` with one line saying what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from components.storage import StorageOptions, resolve

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "ts")
"""Columns every interactions table must have."""

OPTIONAL_COLUMNS: tuple[str, ...] = ("label", "weight")
"""Columns that, when present, decide what counts as a positive (see :func:`positive_mask`)."""


class InteractionsError(ValueError):
    """The interactions table cannot be used: unreadable, missing columns, empty, or null keys."""


def read_interactions(
    path: str, columns: Sequence[str] | None = None, *, storage: StorageOptions | None = None
) -> pd.DataFrame:
    """Read an interactions table (file, folder or URL) and check it with :func:`check_interactions`.

    ``columns=None`` reads every column. Otherwise the required columns plus those of
    ``columns`` (and of :data:`OPTIONAL_COLUMNS`) that the table has are read. ``storage``
    says how to reach an object-store URL.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    try:
        fs, root = resolve(path, storage).arrow()
        if fs.get_file_info(root).type == pafs.FileType.NotFound:
            raise InteractionsError(f"{path}: no such file or folder")
        dataset = ds.dataset(root, format="parquet", filesystem=fs)
        names = dataset.schema.names
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise InteractionsError(f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(names)})")
        wanted = None
        if columns is not None:
            extra = [c for c in (*columns, *OPTIONAL_COLUMNS) if c in names and c not in REQUIRED_COLUMNS]
            wanted = [*REQUIRED_COLUMNS, *dict.fromkeys(extra)]
        frame = dataset.to_table(columns=wanted).to_pandas()
    except InteractionsError:
        raise
    except (OSError, pa.ArrowException, ValueError, ImportError) as error:
        raise InteractionsError(f"{path}: cannot read Parquet: {error}") from error
    check_interactions(frame, path)
    log.info("read %d interactions (%s) from %s", len(frame), ", ".join(frame.columns), path)
    return frame


def check_interactions(frame: pd.DataFrame, source: str = "interactions") -> None:
    """Raise :class:`InteractionsError` unless ``frame`` has the required, non-null columns and rows."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InteractionsError(
            f"{source}: missing column(s) {', '.join(missing)} (has: {', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise InteractionsError(f"{source}: the table has no rows")
    for column in REQUIRED_COLUMNS:
        nulls = int(frame[column].isna().sum())
        if nulls:
            raise InteractionsError(f"{source}: column {column} has {nulls} null value(s)")
    if "label" in frame.columns and frame["label"].isna().any():
        raise InteractionsError(f"{source}: column label has null values")


def positive_mask(frame: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which rows are positives: ``label == 1``, else ``weight > 0``, else every row (module doc)."""
    if "label" in frame.columns:
        return np.asarray(frame["label"].to_numpy() == 1, dtype=bool)
    if "weight" in frame.columns:
        return np.asarray(frame["weight"].fillna(0).to_numpy() > 0, dtype=bool)
    return np.ones(len(frame), dtype=bool)


def positive_rule(frame: pd.DataFrame) -> str:
    """The rule :func:`positive_mask` applies to ``frame``, in words (for reports)."""
    if "label" in frame.columns:
        return "label == 1"
    if "weight" in frame.columns:
        return "weight > 0"
    return "every row"


def integer_ids(frame: pd.DataFrame, column: str, source: str) -> npt.NDArray[np.int64]:
    """``frame[column]`` as int64, or :class:`InteractionsError` if the ids are not integers.

    Model artifacts key users and items by int64; a data set with string ids must be mapped
    to integers before training and evaluation (splitting works on any id type).
    """
    values = frame[column]
    if pd.api.types.is_integer_dtype(values.dtype):
        return np.asarray(values.to_numpy(), dtype=np.int64)
    if pd.api.types.is_float_dtype(values.dtype):
        array = values.to_numpy()
        if np.all(np.isfinite(array)) and np.all(array == np.floor(array)):
            return array.astype(np.int64)
    raise InteractionsError(f"{source}: column {column} must hold integer ids, found {values.dtype}")
