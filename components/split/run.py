"""The split step: read an interactions table, split it, write ``train.parquet``, ``test.parquet``, ``split.json``.

``split.json`` records how the halves were made (method, ratio, seed, source, row and user
counts, the positive rule) so evaluation can report its protocol without being told again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from components.split.splitters import SplitConfig, split_interactions
from components.split.table import positive_mask, positive_rule, read_interactions
from components.storage import Root, StorageOptions, resolve

log = logging.getLogger(__name__)

TRAIN_FILE = "train.parquet"
TEST_FILE = "test.parquet"
SPLIT_FILE = "split.json"
"""File names under the split's output folder."""


class SplitSummary(BaseModel):
    """What a split produced: its settings and the row, user and positive counts of each half."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str  # the interactions table that was split
    out: str  # the folder holding train.parquet, test.parquet and split.json
    config: SplitConfig  # method, ratio and seed
    positive_rule: str  # which rows count as positives (label == 1, weight > 0 or every row)
    rows: int  # rows of the source table (= train_rows + test_rows)
    train_rows: int  # rows in train.parquet
    test_rows: int  # rows in test.parquet
    users: int  # distinct users in the source
    test_users: int  # distinct users with at least one test row
    train_only_users: int  # users with a single row, kept in train only
    train_positives: int  # positive rows in train
    test_positives: int  # positive rows in test


def _write_parquet(frame: pd.DataFrame, target: Root) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fs, path = target.fsspec()
    with fs.open(path, "wb") as f:
        pq.write_table(table, f)


def summarise(source: str, out: str, config: SplitConfig, train: pd.DataFrame, test: pd.DataFrame) -> SplitSummary:
    """Counts of a finished split (what ``split.json`` holds)."""
    users = pd.concat([train["user_id"], test["user_id"]]).nunique()
    test_users = int(test["user_id"].nunique())
    return SplitSummary(
        source=source,
        out=out,
        config=config,
        positive_rule=positive_rule(train),
        rows=len(train) + len(test),
        train_rows=len(train),
        test_rows=len(test),
        users=int(users),
        test_users=test_users,
        train_only_users=int(users) - test_users,
        train_positives=int(positive_mask(train).sum()),
        test_positives=int(positive_mask(test).sum()),
    )


def split_file(
    interactions: str,
    out: str,
    config: SplitConfig | None = None,
    *,
    storage: StorageOptions | None = None,
) -> SplitSummary:
    """Split the table at ``interactions`` into ``out``/train.parquet and ``out``/test.parquet.

    ``out`` is a folder (created if needed) or an object-store URL, reached with ``storage``
    (as is ``interactions``). All columns are kept. Raises
    :class:`~components.split.table.InteractionsError` for an unusable table and OSError if
    ``out`` cannot be written.
    """
    config = config or SplitConfig()
    frame = read_interactions(interactions, storage=storage)
    train, test = split_interactions(frame, config)
    folder = resolve(out, storage)
    folder.makedirs()
    _write_parquet(train, folder.join(TRAIN_FILE))
    _write_parquet(test, folder.join(TEST_FILE))
    summary = summarise(interactions, out, config, train, test)
    folder.join(SPLIT_FILE).write_text(json.dumps(summary.model_dump(mode="json"), indent=2))
    log.info("wrote %s and %s under %s", TRAIN_FILE, TEST_FILE, folder.url)
    return summary


def read_split_summary(test_path: str, *, storage: StorageOptions | None = None) -> dict[str, Any] | None:
    """The ``split.json`` beside a test table, if there is one (evaluation reports it as its protocol)."""
    stripped = test_path.rstrip("/")
    folder = stripped.rsplit("/", 1)[0] if "/" in stripped else "."
    try:
        summary = resolve(folder, storage).join(SPLIT_FILE)
        fs, path = summary.fsspec()
        if not fs.isfile(path):
            return None
        loaded: dict[str, Any] = json.loads(summary.read_text())
        return loaded
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable %s/%s: %s", folder, SPLIT_FILE, error)
        return None
