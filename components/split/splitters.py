"""Split an interactions table into train and test rows, per user.

Both methods work user by user, so every user with enough history appears in both halves:

- ``temporal`` (default): each user's rows are ordered by ``ts`` (ties keep the table's row
  order) and the **last** ``n_test`` go to test. Every test row of a user is at or after every
  train row of that user. This mimics serving: the model has seen a user's past and is asked
  about the future.
- ``random``: each user's rows are shuffled with ``seed`` and ``n_test`` of them go to test
  (a random split stratified by user). Deterministic for a given seed and table.
- ``date``: one cut in time for everybody, what a nightly pipeline needs: rows of the UTC days
  before ``test_day`` are train, rows of ``test_day`` are test, later rows are dropped. A user
  may appear in one half only (a new user of the test day is a cold user for evaluation).

How many rows of a user with ``n`` rows go to test (``temporal`` and ``random``)::

    n_test = 0                                           if n == 1 (the user stays in train)
    n_test = min(max(round_half_up((1 - ratio) * n), 1), n - 1)   otherwise

so every user with two or more rows keeps at least one row on each side. Every row lands in
exactly one half (``date`` drops the rows after the test day); no row is duplicated or changed. Positives (see
:mod:`components.split.table`) are not treated specially: a user's test rows may all be
negatives, and evaluation then skips that user.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.split.table import check_interactions

log = logging.getLogger(__name__)

SplitMethod = Literal["temporal", "random", "date"]


class SplitConfig(BaseModel):
    """How to split: method, share of each user's rows kept for training, and the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # temporal: each user's latest rows are the test set; random: a seeded shuffle per user;
    # date: the days before test_day are train, test_day is test
    by: SplitMethod = "temporal"
    # share of each user's rows kept in train (0.8 = the last/random 20% go to test); not for date
    ratio: float = Field(0.8, gt=0.0, lt=1.0)
    # seeds the random split's per-user shuffle; ignored by the other methods
    seed: int = 0
    # the UTC day that is the test set of a date split (required by it, refused by the others)
    test_day: date | None = None

    @model_validator(mode="after")
    def _test_day_for_date_only(self) -> Self:
        if self.by == "date" and self.test_day is None:
            raise ValueError("a date split needs test_day (the UTC day to test on, YYYY-MM-DD)")
        if self.by != "date" and self.test_day is not None:
            raise ValueError(f"test_day is only for the date split, not for by={self.by!r}")
        return self


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


def _utc_days(frame: pd.DataFrame) -> npt.NDArray[np.datetime64]:
    """Each row's UTC day (``ts`` as timestamps; naive ones are taken as UTC)."""
    try:
        ts = pd.to_datetime(frame["ts"], utc=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"column ts is not a timestamp: {error}") from error
    return np.asarray(ts.dt.tz_localize(None).to_numpy().astype("datetime64[D]"))


def date_masks(frame: pd.DataFrame, test_day: date) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``(train, test)`` row masks of a date split: days before ``test_day``, and ``test_day`` itself."""
    days = _utc_days(frame)
    cut = np.datetime64(test_day.isoformat(), "D")
    return np.asarray(days < cut, dtype=bool), np.asarray(days == cut, dtype=bool)


def holdout_mask(frame: pd.DataFrame, config: SplitConfig) -> npt.NDArray[np.bool_]:
    """For each row of ``frame``, whether it belongs to the test half (per-user methods)."""
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
    if config.by == "date":
        assert config.test_day is not None  # the model's validator guarantees it
        in_train, in_test = date_masks(frame, config.test_day)
    else:
        in_test = holdout_mask(frame, config)
        in_train = ~in_test
    train = frame.loc[in_train].reset_index(drop=True)
    test = frame.loc[in_test].reset_index(drop=True)
    log.info(
        "%s split: %d train rows, %d test rows, %d users in test",
        config.by if config.by == "date" else f"{config.by} (ratio {config.ratio:.2f})",
        len(train),
        len(test),
        test["user_id"].nunique(),
    )
    return train, test
