"""Full-catalogue top-K retrieval for many users, vectorised in chunks of users.

Scores are dot products ``user_vector @ item_vector`` (how :class:`ModelArtifact` scores, and
how the popularity baseline is written as a one-dimensional "embedding"). For each chunk of
users one ``(chunk, n_items)`` score matrix is built with a single matrix product, the
user's excluded items are set to ``-inf``, and ``torch.topk`` picks the K best. A chunk holds
about :data:`CHUNK_ELEMENTS` scores (64 MB of float32), whatever the catalogue size.

Excluded items are never returned. When a user has fewer than K items left, the missing
places are ``-1`` (no recommendation), never an excluded item. Baselines whose score does
not depend on the user (popularity) use :func:`top_k_shared`, which needs no score matrix.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy import sparse

if TYPE_CHECKING:
    import torch  # imported where it ranks: a task that only reads results skips its second of start-up

log = logging.getLogger(__name__)

CHUNK_ELEMENTS = 1 << 24
"""Scores held at once per chunk (users x items): 16M float32 = 64 MB."""

NO_ITEM = -1
"""Placeholder in a top-K row where fewer than K items could be recommended."""


def chunk_rows(n_items: int, chunk_users: int | None = None) -> int:
    """Users per chunk: ``chunk_users`` if given, else as many as fit :data:`CHUNK_ELEMENTS` scores."""
    if chunk_users is not None:
        if chunk_users < 1:
            raise ValueError(f"chunk_users must be at least 1, got {chunk_users}")
        return chunk_users
    return max(1, CHUNK_ELEMENTS // max(n_items, 1))


def pair_matrix(rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], shape: tuple[int, int]) -> sparse.csr_matrix:
    """A boolean CSR matrix with True at each (row, col) pair (duplicates collapse)."""
    data = np.ones(len(rows), dtype=bool)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=shape, dtype=bool)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _finite(name: str, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    if not np.isfinite(vectors).all():
        raise ValueError(f"{name} hold NaN or infinite values")
    return vectors


def top_k(
    user_vectors: npt.NDArray[np.floating],
    item_vectors: npt.NDArray[np.floating],
    k: int,
    exclude: sparse.csr_matrix | None = None,
    unavailable: npt.NDArray[np.bool_] | None = None,
    chunk_users: int | None = None,
    device: str = "cpu",
) -> npt.NDArray[np.int64]:
    """``(n_users, K)`` item positions (rows of ``item_vectors``), best first, per user.

    ``exclude`` is an ``(n_users, n_items)`` matrix of items each user must not get (their
    train positives); ``unavailable`` marks items no user may get (e.g. unknown to this
    model). Places that cannot be filled hold :data:`NO_ITEM`. Non-finite vectors are a
    ValueError (a diverged model), so every score is finite and ``-inf`` means excluded.
    """
    users_np = _finite("user vectors", np.asarray(user_vectors, dtype=np.float32))
    items_np = _finite("item vectors", np.asarray(item_vectors, dtype=np.float32))
    n_users, n_items = len(users_np), len(items_np)
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be between 1 and the catalogue size {n_items}, got {k}")
    if exclude is not None and exclude.shape != (n_users, n_items):
        raise ValueError(f"exclude must have shape {(n_users, n_items)}, got {exclude.shape}")
    import torch

    target = torch.device(device)
    items = torch.as_tensor(items_np, device=target).T.contiguous()
    blocked = None
    if unavailable is not None and unavailable.any():
        blocked = torch.as_tensor(np.flatnonzero(unavailable), device=target)
    rows = chunk_rows(n_items, chunk_users)
    out = np.full((n_users, k), NO_ITEM, dtype=np.int64)
    with torch.inference_mode():
        for start in range(0, n_users, rows):
            stop = min(start + rows, n_users)
            scores = torch.as_tensor(users_np[start:stop], device=target) @ items
            if blocked is not None:
                scores[:, blocked] = -torch.inf
            if exclude is not None:
                _exclude(scores, exclude[start:stop])
            out[start:stop] = _best(scores, k)
    return out


def _exclude(scores: torch.Tensor, block: sparse.csr_matrix) -> None:
    """Set ``scores[i, j]`` to -inf for every stored entry (i, j) of ``block`` (in place)."""
    import torch

    rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    device = scores.device
    scores[torch.as_tensor(rows, device=device), torch.as_tensor(block.indices, device=device)] = -torch.inf


def _best(scores: torch.Tensor, k: int) -> npt.NDArray[np.int64]:
    """The ``k`` best columns per row, best first; :data:`NO_ITEM` where only -inf was left."""
    import torch

    values, index = torch.topk(scores, k, dim=1, sorted=True)
    index[values == -torch.inf] = NO_ITEM
    return np.asarray(index.cpu().numpy(), dtype=np.int64)


def top_k_scores(
    scores: npt.NDArray[np.floating], k: int, exclude: sparse.csr_matrix | None = None
) -> npt.NDArray[np.int64]:
    """``(n_users, K)`` best columns of a ``(n_users, n_items)`` score matrix, ``exclude``'s entries left out.

    For rankers that produce scores rather than vectors (EASE's ``x_u B``); places that cannot
    be filled hold :data:`NO_ITEM`. Non-finite scores are a ValueError.
    """
    matrix = _finite("scores", np.asarray(scores, dtype=np.float32))
    n_users, n_items = matrix.shape
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be between 1 and the catalogue size {n_items}, got {k}")
    if exclude is not None and exclude.shape != (n_users, n_items):
        raise ValueError(f"exclude must have shape {(n_users, n_items)}, got {exclude.shape}")
    import torch

    masked = torch.from_numpy(np.array(matrix, copy=True))
    if exclude is not None and exclude.nnz:
        _exclude(masked, exclude)
    return _best(masked, k)


def top_k_shared(
    item_scores: npt.NDArray[np.floating], n_users: int, k: int, exclude: sparse.csr_matrix | None = None
) -> npt.NDArray[np.int64]:
    """Top-K when every user shares one score per item (popularity), without a users x items matrix.

    Items are ranked once (ties by catalogue position); each user gets the first K of that
    order that are not in their row of ``exclude``. Only the first ``K + max excluded per
    user`` items of the order can be needed, so the work is O(n_users * (K + max excluded)).
    """
    scores = _finite("item scores", np.asarray(item_scores, dtype=np.float64))
    n_items = len(scores)
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be between 1 and the catalogue size {n_items}, got {k}")
    order = np.argsort(-scores, kind="stable").astype(np.int64)
    if exclude is None or exclude.nnz == 0:
        return np.broadcast_to(order[:k], (n_users, k)).copy()
    if exclude.shape != (n_users, n_items):
        raise ValueError(f"exclude must have shape {(n_users, n_items)}, got {exclude.shape}")
    width = min(n_items, k + int(np.diff(exclude.indptr).max()))
    candidates = order[:width]
    keys = pair_keys(exclude)
    out = np.full((n_users, k), NO_ITEM, dtype=np.int64)
    rows = max(1, CHUNK_ELEMENTS // width)
    for start in range(0, n_users, rows):
        stop = min(start + rows, n_users)
        user_rows = np.arange(start, stop, dtype=np.int64)[:, None]
        excluded = contains(keys, n_items, user_rows, np.broadcast_to(candidates, (stop - start, width)))
        first = np.argsort(excluded, axis=1, kind="stable")[:, :k]
        picked = candidates[first]
        picked[np.take_along_axis(excluded, first, axis=1)] = NO_ITEM
        out[start:stop] = picked
    return out


def pair_keys(matrix: sparse.csr_matrix) -> npt.NDArray[np.int64]:
    """The sorted ``row * n_cols + col`` keys of a CSR matrix's stored entries."""
    csr = matrix.tocsr()
    csr.sort_indices()
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    return np.asarray(rows * csr.shape[1] + csr.indices.astype(np.int64), dtype=np.int64)


def contains(
    keys: npt.NDArray[np.int64], n_cols: int, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Whether each (row, col) (broadcast together) is among ``keys`` (from :func:`pair_keys`); col -1 is never."""
    wanted = rows * n_cols + np.maximum(cols, 0)
    if len(keys) == 0:
        return np.zeros(wanted.shape, dtype=bool)
    found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.asarray((keys[found] == wanted) & (cols >= 0), dtype=bool)


def hit_matrix(top: npt.NDArray[np.int64], relevant: sparse.csr_matrix) -> npt.NDArray[np.bool_]:
    """``(n_users, K)``: whether each recommended position is in the user's row of ``relevant``.

    Membership is tested with one sorted search over (row, item) keys, so the cost is
    O(n_users * K * log nnz), independent of the catalogue size.
    """
    n_users, n_items = relevant.shape
    if top.shape[0] != n_users:
        raise ValueError(f"top has {top.shape[0]} rows, relevant {n_users}")
    rows = np.arange(n_users, dtype=np.int64)[:, None]
    return contains(pair_keys(relevant), n_items, rows, top)
