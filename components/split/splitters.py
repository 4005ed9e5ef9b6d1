"""Split an interactions table into train and test rows, per user.

Both methods work user by user, so every user with enough history appears in both halves:

- ``temporal`` (default): each user's rows are ordered by ``ts`` (ties keep the table's row
  order) and the **last** ``n_test`` go to test. Every test row of a user is at or after every
  train row of that user. This mimics serving: the model has seen a user's past and is asked
  about the future.
- ``random``: each user's rows are shuffled with ``seed`` and ``n_test`` of them go to test
  (a random split stratified by user). Deterministic for a given seed and table.

How many rows of a user with ``n`` rows go to test::

    n_test = 0                                           if n == 1 (the user stays in train)
    n_test = min(max(round_half_up((1 - ratio) * n), 1), n - 1)   otherwise

so every user with two or more rows keeps at least one row on each side. Every row lands in
exactly one half; no row is dropped, duplicated or changed. Positives (see
:mod:`components.split.table`) are not treated specially: a user's test rows may all be
negatives, and evaluation then skips that user.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from components.split.table import check_interactions

log = logging.getLogger(__name__)

SplitMethod = Literal["temporal", "random"]


class SplitConfig(BaseModel):
    """How to split: method, share of each user's rows kept for training, and the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # temporal: each user's latest rows are the test set; random: a seeded shuffle per user
    by: SplitMethod = "temporal"
    # share of each user's rows kept in train (0.8 = the last/random 20% go to test)
    ratio: float = Field(0.8, gt=0.0, lt=1.0)
    # seeds the random split's per-user shuffle; ignored by the temporal split
    seed: int = 0


def holdout_counts(sizes: npt.ArrayLike, ratio: float) -> npt.NDArray[np.int64]:
    """Rows per user that go to test, for users with ``sizes`` rows (see the module doc)."""
    n = np.asarray(sizes, dtype=np.int64)
    wanted = np.floor((1.0 - ratio) * n + 0.5).astype(np.int64)
    counts = np.clip(wanted, 1, np.maximum(n - 1, 1))
    return np.asarray(np.where(n >= 2, counts, 0), dtype=np.int64)


def _user_order(frame: pd.DataFrame, codes: npt.NDArray[np.int64], config: SplitConfig) -> npt.NDArray[np.int64]:
    """Row positions grouped by user; within a user by (ts, row) or by a seeded random key."""
    rows = np.arange(len(frame), dtype=np.int64)
    if config.by == "random":
        keys = np.random.default_rng(config.seed).random(len(frame))
        return np.lexsort((rows, keys, codes)).astype(np.int64)
    ordered = pd.DataFrame({"user": codes, "ts": frame["ts"].to_numpy(), "row": rows})
    try:
        ordered = ordered.sort_values(["user", "ts", "row"], kind="stable")
    except TypeError as error:
        raise ValueError(f"column ts cannot be ordered: {error}") from error
    return ordered["row"].to_numpy(dtype=np.int64)


def holdout_mask(frame: pd.DataFrame, config: SplitConfig) -> npt.NDArray[np.bool_]:
    """For each row of ``frame``, whether it belongs to the test half."""
    codes_raw, _ = pd.factorize(frame["user_id"], sort=False)
    codes = np.asarray(codes_raw, dtype=np.int64)
    sizes = np.bincount(codes).astype(np.int64)
    starts = np.cumsum(sizes) - sizes
    order = _user_order(frame, codes, config)
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(frame), dtype=np.int64) - starts[codes[order]]
    n_test = holdout_counts(sizes, config.ratio)
    return np.asarray(rank >= (sizes - n_test)[codes], dtype=bool)


def split_interactions(frame: pd.DataFrame, config: SplitConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)``: the rows of ``frame`` in two halves, each in the table's original row order.

    Raises :class:`~components.split.table.InteractionsError` for a table without the required
    columns or rows.
    """
    config = config or SplitConfig()
    check_interactions(frame)
    is_test = holdout_mask(frame, config)
    train = frame.loc[~is_test].reset_index(drop=True)
    test = frame.loc[is_test].reset_index(drop=True)
    log.info(
        "%s split (ratio %.2f): %d train rows, %d test rows, %d users in test",
        config.by,
        config.ratio,
        len(train),
        len(test),
        test["user_id"].nunique(),
    )
    return train, test
