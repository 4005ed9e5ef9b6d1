"""The item catalogue the recommender ranks: what the ETL knows, plus items created since.

The ETL's latest ``item_features`` day lists every item created up to then, with the content
features the model's content encoder reads; ``item_popularity`` seeds the fallback ranking.
Items created after the ETL arrive as ``create`` events and are featurised here the same way
the ETL featurises them (:mod:`components.etl.content`), so a model embeds them alike.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from components.etl.content import IMAGE_COLUMNS, image_stats, text_vectors
from components.etl.tables import ITEM_FEATURES, ITEM_POPULARITY
from components.storage import StorageOptions, resolve

log = logging.getLogger(__name__)

CONTENT_COLUMNS = ("item_id", "creator_id", "text_vec", *IMAGE_COLUMNS)
"""What an item's content is to the encoder: ``item_features`` columns."""


def _latest(etl_root: str, table: str, columns: list[str], storage: StorageOptions | None) -> pd.DataFrame:
    """The rows of the latest ``date`` of an ETL table (empty if the table is absent)."""
    try:
        filesystem, path = resolve(etl_root, storage).join(table).arrow()
        dataset = ds.dataset(path, format="parquet", partitioning="hive", filesystem=filesystem)
    except (FileNotFoundError, pa.ArrowInvalid):
        log.warning("no %s table under %s", table, etl_root)
        return pd.DataFrame(columns=columns)
    if "date" not in dataset.schema.names:
        log.warning("no dated %s table under %s", table, etl_root)
        return pd.DataFrame(columns=columns)
    dates = dataset.to_table(columns=["date"])["date"]
    if len(dates) == 0:
        return pd.DataFrame(columns=columns)
    latest = pc.max(dates)
    return dataset.to_table(columns=[*columns, "date"], filter=ds.field("date") == latest).to_pandas()


def read_catalogue(etl_root: str, *, storage: StorageOptions | None = None) -> pd.DataFrame:
    """Content of every item in the ETL's latest ``item_features`` day (:data:`CONTENT_COLUMNS`).

    ``etl_root`` is a folder or an object-store URL, reached with ``storage``.
    """
    frame = _latest(etl_root, ITEM_FEATURES.name, list(CONTENT_COLUMNS), storage)
    return frame.drop(columns="date", errors="ignore")


def read_popularity(etl_root: str, *, storage: StorageOptions | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """``(item_ids, popularity, at_s)`` from the latest ``item_popularity`` day (at its end)."""
    frame = _latest(etl_root, ITEM_POPULARITY.name, ["item_id", "popularity"], storage)
    if frame.empty:
        return np.zeros(0, np.int64), np.zeros(0), 0.0
    day = pd.Timestamp(frame["date"].iloc[0]).to_pydatetime().replace(tzinfo=UTC)
    at = (day + pd.Timedelta(days=1)).timestamp()
    return frame["item_id"].to_numpy(np.int64), frame["popularity"].to_numpy(np.float64), at


def created_content(events: pa.Table) -> pd.DataFrame:
    """The content of the ``create`` events in a batch, featurised as the ETL does (CONTENT_COLUMNS)."""
    created = events.filter(pc.equal(events["type"], "create"))
    if len(created) == 0:
        return pd.DataFrame(columns=list(CONTENT_COLUMNS))
    texts = created["text"].to_pylist()
    images = created["image"].to_pylist()
    stats = image_stats(np.array(images, dtype=np.float64))
    frame = pd.DataFrame(
        {
            "item_id": created["item_id"].to_numpy(),
            "creator_id": created["user_id"].to_numpy(),
            "text_vec": list(text_vectors(texts)),
        }
    )
    for i, column in enumerate(IMAGE_COLUMNS):
        frame[column] = stats[:, i]
    return frame


class Catalogue:
    """Content of the items the recommender may rank, keyed by item id; grows with create events."""

    def __init__(self, content: pd.DataFrame | None = None) -> None:
        self._lock = threading.Lock()
        self._frames: list[pd.DataFrame] = []
        self._ids: set[int] = set()
        if content is not None and len(content):
            self.add(content)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, content: pd.DataFrame) -> pd.DataFrame:
        """Add items not yet known; returns the rows that were new."""
        with self._lock:
            new = content[~content["item_id"].isin(self._ids)].drop_duplicates("item_id")
            if len(new):
                self._frames.append(new.reset_index(drop=True))
                self._ids.update(int(i) for i in new["item_id"])
            return new

    def content(self) -> pd.DataFrame:
        """Every known item's content, in the order items were added."""
        with self._lock:
            frames = list(self._frames)
        if not frames:
            return pd.DataFrame(columns=list(CONTENT_COLUMNS))
        merged = pd.concat(frames, ignore_index=True)
        with self._lock:
            self._frames = [merged]
        return merged
