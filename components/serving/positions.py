"""Where item ids sit in an array of distinct ids, looked up for a whole matrix of ids at once.

Ranking a batch filters each user's seen items out of the model's scores and out of the
popularity ranking; both need "position of this id" for about 500 ids per user. A Python dict
costs a lookup per id; :class:`IdPositions` answers a whole ``(users, seen)`` matrix in a few
numpy operations: a dense table indexed by id when ids are small non-negative integers (SimNet's
are 0..n), else a binary search over the sorted ids.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

ABSENT = -1
"""The position of an id that is not there (and the padding of id matrices: ids are >= 0)."""

DENSE_SLACK = 4
"""A dense table is used while the largest id is below ``DENSE_SLACK * n + DENSE_MIN`` ..."""
DENSE_MIN = 1 << 16
"""... so its size stays a small multiple of the ids' (a few bytes per id)."""


class IdPositions:
    """Immutable id -> position lookup over ``ids`` (distinct); see the module doc."""

    def __init__(self, ids: npt.ArrayLike) -> None:
        values = np.asarray(ids, dtype=np.int64).reshape(-1)
        self.size = len(values)
        self._table: IntArray | None = None
        self._sorted: IntArray | None = None
        self._order: IntArray | None = None
        if self.size == 0:
            return
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high < DENSE_SLACK * self.size + DENSE_MIN:
            table = np.full(high + 1, ABSENT, dtype=np.int64)
            table[values] = np.arange(self.size, dtype=np.int64)
            self._table = table
        else:
            order = np.argsort(values, kind="stable")
            self._sorted, self._order = values[order], order.astype(np.int64)

    def __len__(self) -> int:
        return self.size

    def __call__(self, ids: npt.ArrayLike) -> IntArray:
        """Positions of ``ids`` (any shape, same shape back); :data:`ABSENT` where an id is not there."""
        query = np.asarray(ids, dtype=np.int64)
        if self._table is not None:
            table = self._table
            inside = (query >= 0) & (query < len(table))
            out = table[np.where(inside, query, 0)]
            out[~inside] = ABSENT
            return out
        if self._sorted is None or self._order is None:
            return np.full(query.shape, ABSENT, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, query), self.size - 1)
        return np.where(self._sorted[at] == query, self._order[at], ABSENT)
