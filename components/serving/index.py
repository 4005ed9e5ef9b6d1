"""Exact maximum-inner-product retrieval over a growing set of item embeddings.

At SimNet's scale (about 10^5 items of 33-65 floats) one matrix product and a ``topk`` per
batch of queries take well under a millisecond per query, so an approximate index would not
pay. The vectors are kept transposed, ``(dim, capacity)``, in a torch tensor: torch's matrix
product over that layout and its ``topk`` are several times faster than numpy's ``@`` and
``argpartition`` for small batches. Items are appended (fresh items embedded from their
content) without blocking readers: columns are written past the published size first and the
size is published last, so a reader sees the old catalogue or the new one, never a half-written
item.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _View:
    ids: IntArray
    vectors: torch.Tensor  # (dim, capacity), float32; columns [0, size) are items
    size: int


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
        self._view = _View(buf_ids, buf_vecs, len(ids_))
        self._pos: dict[int, int] = {int(i): p for p, i in enumerate(ids_.tolist())}
        self._write_lock = threading.Lock()

    def __len__(self) -> int:
        return self._view.size

    @property
    def ids(self) -> IntArray:
        """The item ids, in row order."""
        view = self._view
        return view.ids[: view.size]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._pos

    def positions(self, item_ids: Sequence[int]) -> list[int]:
        """Rows of the ``item_ids`` the index holds (others are skipped)."""
        pos = self._pos
        return [p for p in (pos.get(int(i)) for i in item_ids) if p is not None]

    def upsert(self, item_ids: npt.ArrayLike, vectors: npt.ArrayLike) -> int:
        """Add new items (or replace known items' vectors); returns how many were new."""
        ids = np.asarray(item_ids, dtype=np.int64).reshape(-1)
        vecs = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._write_lock:
            view = self._view
            known = [(self._pos[int(i)], v) for i, v in zip(ids.tolist(), vecs, strict=True) if int(i) in self._pos]
            for column, vec in known:
                view.vectors[:, column] = torch.from_numpy(vec)
            new_mask = np.array([int(i) not in self._pos for i in ids.tolist()], dtype=bool)
            new_ids, new_vecs = ids[new_mask], vecs[new_mask]
            _, first = np.unique(new_ids, return_index=True)
            new_ids, new_vecs = new_ids[np.sort(first)], new_vecs[np.sort(first)]
            size, n = view.size, len(new_ids)
            if n == 0:
                return 0
            if size + n > len(view.ids):
                capacity = int((size + n) * 1.5)
                grown_ids = np.zeros(capacity, dtype=np.int64)
                grown_vecs = torch.zeros((self.dim, capacity), dtype=torch.float32)
                grown_ids[:size] = view.ids[:size]
                grown_vecs[:, :size] = view.vectors[:, :size]
                view = _View(grown_ids, grown_vecs, size)
            view.ids[size : size + n] = new_ids
            view.vectors[:, size : size + n] = torch.from_numpy(np.ascontiguousarray(new_vecs)).T
            for offset, item_id in enumerate(new_ids.tolist()):
                self._pos[int(item_id)] = size + offset
            self._view = _View(view.ids, view.vectors, size + n)
            return n

    def top_k(
        self, queries: FloatArray, k: int, exclude: Sequence[Sequence[int]] | None = None
    ) -> tuple[list[IntArray], list[FloatArray]]:
        """The ``k`` best items per query row (item ids and scores, best first).

        ``exclude[i]`` lists item positions (see :meth:`positions`) that query ``i`` must not get.
        Fewer than ``k`` come back only when the catalogue minus the exclusions is smaller.
        """
        view = self._view
        n_queries = len(queries)
        if view.size == 0:
            return [np.zeros(0, np.int64)] * n_queries, [np.zeros(0, np.float32)] * n_queries
        with torch.no_grad():
            scores = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32)) @ view.vectors[:, : view.size]
            if exclude is not None:
                rows = [r for r, banned in enumerate(exclude) for _ in banned]
                if rows:
                    columns = [c for banned in exclude for c in banned]
                    scores[rows, columns] = -torch.inf
            best, where = torch.topk(scores, min(k, view.size), dim=1)
        best_np, where_np = best.numpy(), where.numpy()
        ids_out: list[IntArray] = []
        scores_out: list[FloatArray] = []
        for row in range(n_queries):
            keep = np.isfinite(best_np[row])
            ids_out.append(view.ids[where_np[row][keep]])
            scores_out.append(best_np[row][keep].astype(np.float32))
        return ids_out, scores_out
