"""Exact maximum-inner-product retrieval over a growing set of item embeddings.

At SimNet's scale (about 10^5 items of 33-65 floats) one matrix product and a ``topk`` per
batch of queries take well under a millisecond per query, so an approximate index would not
pay. The vectors are kept transposed, ``(dim, capacity)``, in a torch tensor: torch's matrix
product over that layout and its ``topk`` are several times faster than numpy's ``@`` and
``argpartition`` for small batches. Items are appended (fresh items embedded from their
content) without blocking readers: columns are written past the published size first and the
size (with the id lookup over the new ids) is published last, so a reader sees the old catalogue
or the new one, never a half-written item.

Exclusions come as a matrix of item positions per query (:meth:`ItemIndex.positions` maps a
matrix of ids in one call) and are masked with one scatter of ``-inf``; a large batch is ranked
in blocks of queries so the score matrix stays within :data:`BLOCK_SCORES` floats.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from components.serving.positions import ABSENT, IdPositions

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]

BLOCK_SCORES = 1 << 20
"""Scores (float32) computed at once: 4 MB, e.g. 52 queries x 20,000 items, which stay in cache while masked."""


@dataclass(frozen=True)
class _View:
    ids: IntArray
    vectors: torch.Tensor  # (dim, capacity), float32; columns [0, size) are items
    size: int
    lookup: IdPositions  # id -> column, over ids[:size]


class ItemIndex:
    """Item ids and their embeddings; :meth:`top_k` ranks them for a batch of query vectors."""

    def __init__(self, ids: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        ids_ = np.asarray(ids, dtype=np.int64).reshape(-1)
        vecs = np.asarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or len(vecs) != len(ids_):
            raise ValueError(f"vectors must be (n_items, dim) with n_items = {len(ids_)}, got {vecs.shape}")
        if len(np.unique(ids_)) != len(ids_):
            raise ValueError("item ids must be unique")
        capacity = max(1024, int(len(ids_) * 1.25))
        self.dim = int(vecs.shape[1])
        buf_ids = np.zeros(capacity, dtype=np.int64)
        buf_vecs = torch.zeros((self.dim, capacity), dtype=torch.float32)
        buf_ids[: len(ids_)] = ids_
        buf_vecs[:, : len(ids_)] = torch.from_numpy(vecs).T
        self._view = _View(buf_ids, buf_vecs, len(ids_), IdPositions(ids_))
        self._write_lock = threading.Lock()

    def __len__(self) -> int:
        return self._view.size

    @property
    def ids(self) -> IntArray:
        """The item ids, in row order."""
        view = self._view
        return view.ids[: view.size]

    def __contains__(self, item_id: object) -> bool:
        if not isinstance(item_id, int | np.integer):
            return False
        return bool(self._view.lookup(np.array([item_id], np.int64))[0] != ABSENT)

    def positions(self, item_ids: npt.ArrayLike) -> IntArray:
        """Rows of ``item_ids`` (any shape, e.g. a users x seen matrix; same shape back), -1 where absent."""
        return self._view.lookup(item_ids)

    def upsert(self, item_ids: npt.ArrayLike, vectors: npt.ArrayLike) -> int:
        """Add new items (or replace known items' vectors); returns how many were new."""
        ids = np.asarray(item_ids, dtype=np.int64).reshape(-1)
        vecs = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._write_lock:
            view = self._view
            columns = view.lookup(ids)
            known = columns != ABSENT
            for column, vec in zip(columns[known].tolist(), vecs[known], strict=True):
                view.vectors[:, column] = torch.from_numpy(vec)
            new_ids, new_vecs = ids[~known], vecs[~known]
            _, first = np.unique(new_ids, return_index=True)
            new_ids, new_vecs = new_ids[np.sort(first)], new_vecs[np.sort(first)]
            size, n = view.size, len(new_ids)
            if n == 0:
                return 0
            buf_ids, buf_vecs = view.ids, view.vectors
            if size + n > len(buf_ids):
                capacity = int((size + n) * 1.5)
                buf_ids = np.zeros(capacity, dtype=np.int64)
                buf_vecs = torch.zeros((self.dim, capacity), dtype=torch.float32)
                buf_ids[:size] = view.ids[:size]
                buf_vecs[:, :size] = view.vectors[:, :size]
            buf_ids[size : size + n] = new_ids
            buf_vecs[:, size : size + n] = torch.from_numpy(np.ascontiguousarray(new_vecs)).T
            self._view = _View(buf_ids, buf_vecs, size + n, IdPositions(buf_ids[: size + n]))
            return n

    def top_k(
        self, queries: FloatArray, k: int, exclude: npt.ArrayLike | None = None
    ) -> tuple[list[IntArray], list[FloatArray]]:
        """The ``k`` best items per query row (item ids and scores, best first).

        ``exclude`` is a ``(n_queries, w)`` matrix of item positions (:meth:`positions`) that each
        query must not get, padded with -1. Fewer than ``k`` come back only when the catalogue minus
        the exclusions is smaller.
        """
        view = self._view
        n_queries = len(queries)
        if view.size == 0:
            return [np.zeros(0, np.int64)] * n_queries, [np.zeros(0, np.float32)] * n_queries
        query_matrix = np.ascontiguousarray(queries, dtype=np.float32)
        banned = None if exclude is None else np.asarray(exclude, dtype=np.int64).reshape(n_queries, -1)
        take = min(k, view.size)
        best = np.empty((n_queries, take), np.float32)
        where = np.empty((n_queries, take), np.int64)
        block = max(1, BLOCK_SCORES // view.size)
        items = view.vectors[:, : view.size]
        with torch.no_grad():
            for start in range(0, n_queries, block):
                stop = min(start + block, n_queries)
                scores = torch.from_numpy(query_matrix[start:stop]) @ items
                if banned is not None and banned.size:
                    _mask(scores.numpy(), banned[start:stop], view.size)
                top, at = torch.topk(scores, take, dim=1)
                best[start:stop], where[start:stop] = top.numpy(), at.numpy()
        ids = view.ids[where]
        finite = np.isfinite(best)
        if finite.all():
            return list(ids), list(best)
        return [i[f] for i, f in zip(ids, finite, strict=True)], [b[f] for b, f in zip(best, finite, strict=True)]


def _mask(scores: npt.NDArray[np.float32], positions: IntArray, size: int) -> None:
    """Set ``scores[i, positions[i, j]]`` to -inf for every valid position (in place)."""
    valid = (positions >= 0) & (positions < size)
    rows, columns = np.nonzero(valid)
    scores[rows, positions[rows, columns]] = -np.inf
