"""How concentrated a quantity is over items or users: Gini and top shares.

``gini(x)`` is the Gini coefficient of non-negative values, zeros included, with the
population formula on the values sorted ascending::

    G = (n + 1 - 2 * sum_i C_i / C_n) / n,    C_i = x_(1) + ... + x_(i)

0 when all values are equal; ``(n - 1) / n`` when one entry holds everything. Empty or
all-zero input gives 0. ``top_share(x, fraction)`` is the share of ``sum x`` held by the
``ceil(fraction * n)`` largest entries; ``activity_top_share`` uses ``fraction = 0.2``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pyarrow as pa


def as_values(values: npt.ArrayLike | pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Finite, non-negative float64 1-d view of ``values``; raises ValueError otherwise."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        if values.null_count:
            raise ValueError("values must not contain nulls")
        values = values.to_numpy()
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite")
    if arr.size and arr.min() < 0:
        raise ValueError("values must be non-negative")
    return arr


def gini_padded(sorted_values: npt.NDArray[np.float64], n: int) -> float:
    """Gini of ``n`` values: ``sorted_values`` ascending plus ``n - len(sorted_values)`` zeros.

    The zeros sort first and add nothing to the cumulative sums, so they only enter
    through ``n``.
    """
    if n == 0 or sorted_values.size == 0:
        return 0.0
    cum = np.cumsum(sorted_values)
    total = float(cum[-1])
    if total <= 0.0:
        return 0.0
    g = (n + 1 - 2.0 * float(cum.sum()) / total) / n
    # Rounding can push a perfectly equal vector a few ulps below 0.
    return min(max(g, 0.0), 1.0)


def _top_count(fraction: float, n: int) -> int:
    """``ceil(fraction * n)``, robust to binary rounding (``0.1 * 30`` is 3, not 4)."""
    if not 0.0 <= fraction <= 1.0 or math.isnan(fraction):
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    return min(n, math.ceil(round(fraction * n, 9)))


def top_share_padded(values: npt.NDArray[np.float64], n: int, fraction: float) -> float:
    """``top_share`` of ``values`` padded with zeros to length ``n`` (``n >= len(values)``)."""
    total = float(values.sum()) if values.size else 0.0
    if n == 0 or total <= 0.0:
        return 0.0
    k = min(_top_count(fraction, n), values.size)
    if k == 0:
        return 0.0
    top = np.partition(values, values.size - k)[values.size - k :]
    return min(float(top.sum()) / total, 1.0)


def gini(values: npt.ArrayLike | pa.Array | pa.ChunkedArray) -> float:
    """Gini coefficient of non-negative values, zeros included.

    Definition (population form, values sorted ascending, ``C_i`` their cumulative sums)::

        G = (n + 1 - 2 * sum_i C_i / C_n) / n

    0 means all values are equal; a single non-zero entry gives ``(n - 1) / n``, so the
    result lies in ``[0, 1)``. Examples: ``gini([0, 0, 0, 1]) == 0.75``,
    ``gini([1, 2, 3, 4]) == 0.25``.

    Edge cases: empty input or an all-zero input gives 0.0. Multi-dimensional input is
    flattened. Negative, NaN or infinite values (or Arrow nulls) raise ValueError.
    """
    arr = as_values(values)
    return gini_padded(np.sort(arr), arr.size)


def top_share(values: npt.ArrayLike | pa.Array | pa.ChunkedArray, fraction: float = 0.1) -> float:
    """Share of the total held by the ``ceil(fraction * n)`` largest entries.

    Definition: with ``k = ceil(fraction * n)`` (``fraction * n`` rounded to 9 decimals
    first, so ``0.1 * 30`` gives ``k = 3``), the sum of the ``k`` largest values divided
    by the sum of all values. Example: ``top_share([1, 1, 1, 1, 6], 0.2) == 0.6``.

    Edge cases: empty input or a zero total gives 0.0; ``fraction == 0`` gives 0.0 and
    ``fraction == 1`` gives 1.0 (for a positive total). ``fraction`` outside ``[0, 1]``
    and negative or non-finite values raise ValueError. The result is non-decreasing
    in ``fraction`` and lies in ``[0, 1]``.
    """
    arr = as_values(values)
    _top_count(fraction, arr.size)  # validates fraction even for empty input
    return top_share_padded(arr, arr.size, fraction)


def activity_top_share(sessions_per_user: npt.ArrayLike | pa.Array | pa.ChunkedArray, fraction: float = 0.2) -> float:
    """Share of all sessions made by the most active ``fraction`` of users (default 20%).

    Definition and edge cases are those of :func:`top_share`; only the default fraction
    differs. Pass one entry per user, including users with zero sessions: leaving them
    out shrinks ``n``, hence the "top 20%" group, and understates the concentration.
    """
    return top_share(sessions_per_user, fraction)
