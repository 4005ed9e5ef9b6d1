"""Per-row set membership and ring buffers over integer ids, fully vectorised.

The simulation asks, for thousands of users at once, "has this user seen these
items?". Each user's memory is a fixed-width row of ids (``-1`` = empty), and
membership is answered for all rows in one ``searchsorted`` by offsetting each
row's ids into a disjoint key range.
"""

from __future__ import annotations

import numpy as np

EMPTY = -1


def _keys(rows: np.ndarray, ids: np.ndarray, span: int) -> np.ndarray:
    return rows.astype(np.int64) * span + ids.astype(np.int64)


def count_in_rows(needles: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    """How often ``needles[i, j]`` occurs in ``haystack[i, :]``; EMPTY entries never match.

    ``needles`` is (B, C) and ``haystack`` (B, M), both of non-negative ids
    except for EMPTY; returns a (B, C) int array.
    """
    if needles.shape[0] != haystack.shape[0]:
        raise ValueError("needles and haystack need one row per user each")
    if needles.size == 0 or haystack.size == 0:
        return np.zeros(needles.shape, dtype=np.int64)
    span = int(max(needles.max(), haystack.max())) + 2
    rows = np.arange(needles.shape[0])
    hay = _keys(rows[:, None], haystack + 1, span)  # EMPTY (-1) becomes id 0, which no needle takes
    hay = np.sort(hay.ravel())
    keys = _keys(rows[:, None], needles + 1, span).ravel()
    counts = np.searchsorted(hay, keys, side="right") - np.searchsorted(hay, keys, side="left")
    counts[(needles.ravel() == EMPTY)] = 0
    return counts.reshape(needles.shape)


def isin_rows(needles: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    """Whether ``needles[i, j]`` occurs in ``haystack[i, :]`` (a (B, C) bool array)."""
    return count_in_rows(needles, haystack) > 0


def distinct_draws(rng: np.random.Generator, high: int, rows: int, cols: int) -> np.ndarray:
    """``rows`` rows of ``cols`` distinct integers in ``[0, high)`` (``cols <= high``), uniformly."""
    if cols > high:
        raise ValueError(f"cannot draw {cols} distinct values below {high}")
    draws = rng.integers(0, high, size=(rows, cols))
    while True:  # redraw the rows with a repeat; rare when cols << high
        ordered = np.sort(draws, axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if bad.size == 0:
            return draws
        draws[bad] = rng.integers(0, high, size=(bad.size, cols))


def push_rows(ring: np.ndarray, cursor: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """Append ``values[i, :]`` (EMPTY entries skipped) to ring row ``rows[i]``, oldest overwritten.

    ``rows`` must be distinct: each ring row is written by one batch row.
    """
    width = ring.shape[1]
    keep = values != EMPTY
    offsets = np.cumsum(keep, axis=1) - 1
    slots = (cursor[rows][:, None] + offsets) % width
    r, c = np.nonzero(keep)
    ring[rows[r], slots[r, c]] = values[r, c]
    cursor[rows] = (cursor[rows] + keep.sum(axis=1)) % width


class PairSet:
    """A growing set of (a, b) id pairs, e.g. who follows whom.

    Additions are staged and merged by :meth:`commit`, so one sort serves a
    whole batch of additions.
    """

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)
        self._staged: list[np.ndarray] = []

    @staticmethod
    def _key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a.astype(np.int64) << 32) | b.astype(np.int64)

    def __len__(self) -> int:
        return int(self._keys.size)

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        self._staged.append(self._key(a, b))

    def commit(self) -> None:
        if self._staged:
            self._keys = np.union1d(self._keys, np.concatenate(self._staged))
            self._staged.clear()

    def contains(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Element-wise membership of the committed pairs; ``a`` and ``b`` broadcast."""
        a, b = np.broadcast_arrays(a, b)
        keys = self._key(a, b)
        if self._keys.size == 0:
            return np.zeros(keys.shape, dtype=bool)
        pos = np.searchsorted(self._keys, keys).clip(max=self._keys.size - 1)
        return self._keys[pos] == keys
