"""What the recommender learns online from the events that pass through it.

- :class:`SeenItems`: the items each user was recently served or shown, filtered from their next feeds.
- :class:`Popularity`: exponentially decayed engagement per item, the fallback ranking.

Both read batches of events in their columnar form (:data:`simnet.protocol.EVENT_SCHEMA`), as the
ingest service hands them over once stored, and both are safe to read while being updated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from components.serving.positions import ABSENT, IdPositions

IntArray = npt.NDArray[np.int64]

ENGAGEMENT_WEIGHTS = {"click": 1.0, "like": 1.0, "share": 1.0}
"""Event types that count towards popularity, as in the ETL's item_popularity table."""


def _of_type(events: pa.Table, types: Sequence[str]) -> pa.Table:
    mask = pc.is_in(events["type"], value_set=pa.array(list(types), pa.string()))
    return events.filter(mask)


class SeenItems:
    """The last ``per_user`` distinct items each user was served or shown, oldest first.

    A feed is recorded as it is served (:meth:`add_many`), so a user who asks again before their
    impressions arrive is not served the same items twice; impression events (:meth:`observe`)
    add what other servers or replicas showed them. An item served or shown again counts at its
    latest time.

    Stored as one matrix, a row per user (``per_user`` ids, oldest first, padded with -1) and a
    length per row, so a batch of users' exclusions is one gather (:meth:`matrix`) and recording a
    batch of feeds is a handful of numpy operations over the batch, not a Python loop per user.
    Ids are int32 while they fit (4 bytes x ``per_user`` per user: 2 KB at 500, 200 MB for 100,000
    users), int64 from the first that does not. Item ids are >= 0 (the protocol's); -1 is padding.
    """

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._rows: dict[int, int] = {}
        self._items: npt.NDArray[np.signedinteger] = np.full((0, per_user), ABSENT, dtype=np.int32)
        self._lengths = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, user_id: int, item_ids: Sequence[int]) -> None:
        """Record the items just served to ``user_id``."""
        self.add_many([user_id], [item_ids])

    def add_many(self, user_ids: Sequence[int] | IntArray, item_ids: Sequence[Sequence[int]] | IntArray) -> None:
        """Record the feeds just served: ``item_ids[i]`` to ``user_ids[i]`` (a user may repeat)."""
        if self.per_user == 0 or len(user_ids) == 0:
            return
        self._push(np.asarray(user_ids, dtype=np.int64), _padded(item_ids))

    def observe(self, events: pa.Table) -> int:
        """Record the impressions among ``events``; returns how many."""
        if self.per_user == 0:
            return 0
        shown = _of_type(events, ["impression"])
        if len(shown) == 0:
            return 0
        users = shown["user_id"].to_numpy()
        items = shown["item_id"].to_numpy()
        order = np.argsort(users, kind="stable")
        users, items = users[order], items[order]
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        counts = np.diff(np.r_[starts, len(users)])
        column = np.arange(len(users)) - np.repeat(starts, counts)
        matrix = np.full((len(starts), int(counts.max())), ABSENT, dtype=np.int64)
        matrix[np.repeat(np.arange(len(starts)), counts), column] = items
        self._push(users[starts].astype(np.int64), matrix)
        return len(shown)

    def get(self, user_id: int) -> list[int]:
        """The items recently served or shown to ``user_id`` (distinct, at most ``per_user``), oldest first."""
        with self._lock:
            row = self._rows.get(int(user_id))
            if row is None:
                return []
            return [int(i) for i in self._items[row, : self._lengths[row]]]

    def matrix(self, user_ids: Sequence[int] | IntArray) -> IntArray:
        """``(len(user_ids), w)``: each user's recent items (as :meth:`get`), padded with -1; w <= per_user."""
        users = np.asarray(user_ids, dtype=np.int64).reshape(-1)
        with self._lock:
            rows = np.fromiter((self._rows.get(u, -1) for u in users.tolist()), dtype=np.int64, count=len(users))
            known = rows >= 0
            width = int(self._lengths[rows[known]].max()) if known.any() else 0
            out = np.full((len(users), width), ABSENT, dtype=np.int64)
            if width:
                out[known] = self._items[rows[known], :width]
        return out

    # --- recording -----------------------------------------------------------------------------

    def _push(self, users: IntArray, items: IntArray) -> None:
        """Append ``items[i]`` (padded with -1) to user ``users[i]``'s row; a user may repeat."""
        with self._lock:
            rows = self._rows_of(users)
            if len(items) and int(items.max(initial=0)) > np.iinfo(self._items.dtype).max:
                self._items = self._items.astype(np.int64)
            # a user named twice in one call is recorded in rounds: rows within one round are distinct
            rounds = _occurrence(rows)
            for turn in range(int(rounds.max()) + 1):
                pick = rounds == turn
                for start in range(0, items.shape[1], _CHUNK):
                    chunk = items[pick, start : start + _CHUNK]
                    some = (chunk >= 0).any(axis=1)
                    if some.any():
                        self._append(rows[pick][some], chunk[some])

    def _rows_of(self, users: IntArray) -> IntArray:
        """The matrix row of each user, adding rows (and growing the matrix) for new users."""
        index = self._rows
        for user in users.tolist():
            if user not in index:
                index[user] = len(index)
        if len(index) > len(self._items):
            capacity = max(1024, int(len(index) * 1.5))
            grown = np.full((capacity, self.per_user), ABSENT, dtype=self._items.dtype)
            grown[: len(self._items)] = self._items
            lengths = np.zeros(capacity, dtype=np.int64)
            lengths[: len(self._lengths)] = self._lengths
            self._items, self._lengths = grown, lengths
        return np.fromiter((index[u] for u in users.tolist()), dtype=np.int64, count=len(users))

    def _append(self, rows: IntArray, new: IntArray) -> None:
        """Rows are distinct. Drop from each row the items in ``new``, append them, keep the newest ``per_user``."""
        width, m = self.per_user, new.shape[1]
        lengths = self._lengths[rows]
        old = self._items[rows]
        # within ``new`` an item's latest occurrence counts: drop one that comes again later in its row
        keep_new = new >= 0
        for j in range(m - 1):
            keep_new[:, j] &= ~(new[:, j : j + 1] == new[:, j + 1 :]).any(axis=1)
        # an item seen before moves to its new place: drop its old one (ids are >= 0, padding never matches)
        again = np.zeros(old.shape, dtype=bool)
        for j in range(m):
            again |= old == np.where(keep_new[:, j], new[:, j], ABSENT)[:, None]
        counts = keep_new.sum(axis=1)
        prefix = np.arange(m) < counts[:, None]
        if not again.any() and (lengths + counts <= width).all() and (keep_new == prefix).all():
            # the usual case for a served feed: distinct new items and room left: write them after the last
            place = (rows * width + lengths)[:, None] + np.arange(m)
            self._items.reshape(-1)[place[keep_new]] = new[keep_new]
            self._lengths[rows] = lengths + counts
            return
        keep = np.concatenate([(np.arange(width) < lengths[:, None]) & ~again, keep_new], axis=1)
        kept = keep.sum(axis=1)
        # drop the oldest of a row that overflows: the first (kept - width) of its kept items
        rank = np.cumsum(keep.reshape(-1), dtype=np.int64).reshape(keep.shape)
        rank -= (rank[:, -1] - kept)[:, None]  # 1-based rank of each item within its row
        chosen = keep & (rank > np.maximum(kept - width, 0)[:, None])
        fresh = np.minimum(kept, width)
        out = np.full((len(rows), width), ABSENT, dtype=self._items.dtype)
        out[np.arange(width) < fresh[:, None]] = np.concatenate([old, new], axis=1)[chosen]
        self._items[rows] = out
        self._lengths[rows] = fresh


_CHUNK = 32
"""Items appended per step: comparing a row with the new items costs per_user x _CHUNK per user."""


def _padded(rows: Sequence[Sequence[int]] | IntArray) -> IntArray:
    """Ragged rows of item ids as one matrix padded with -1 (negative ids are not item ids)."""
    if isinstance(rows, np.ndarray):
        return rows.astype(np.int64).reshape(len(rows), -1)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max(initial=0))
    if width and (lengths == width).all():
        return np.asarray(rows, dtype=np.int64).reshape(len(rows), width)
    out = np.full((len(rows), width), ABSENT, dtype=np.int64)
    if width:
        out[np.arange(width) < lengths[:, None]] = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows])
    return out


def _occurrence(values: IntArray) -> IntArray:
    """For each entry, how many equal entries come before it (0 for the first of each value)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, len(values)])
    out = np.empty(len(values), dtype=np.int64)
    out[order] = np.arange(len(values)) - np.repeat(starts, counts)
    return out


class Popularity:
    """Decayed engagement per item: each click, like or share counts 1, halving every ``half_life_s``.

    Time is the events' own clock (their ``ts``), so a replayed or accelerated world decays at its
    own pace. :meth:`top` ranks by the score, newer items first among equal scores; only the best
    ``depth`` items are ranked, so a user who was shown all of them gets a shorter fallback feed.
    """

    def __init__(self, half_life_s: float, depth: int = 1000, refresh_s: float = 1.0) -> None:
        self.half_life_s = half_life_s
        self.depth = depth
        self.refresh_s = refresh_s
        self._ranked: tuple[IntArray, npt.NDArray[np.float64], IdPositions] | None = None
        self._ranked_at = 0.0
        self._dirty = True
        self._pos: dict[int, int] = {}
        self._ids = np.zeros(1024, dtype=np.int64)
        self._scores = np.zeros(1024, dtype=np.float64)
        self._size = 0
        self._now_s = 0.0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def seed(self, item_ids: npt.ArrayLike, scores: npt.ArrayLike, at_s: float) -> None:
        """Start from known scores (e.g. the ETL's item_popularity of the latest day) valid at ``at_s``."""
        with self._lock:
            self._decay_to(at_s)
            self._add(np.asarray(item_ids, dtype=np.int64), np.asarray(scores, dtype=np.float64))

    def add_items(self, item_ids: npt.ArrayLike) -> None:
        """Make items rankable (score 0) before anyone engaged with them, e.g. fresh items."""
        ids = np.asarray(item_ids, dtype=np.int64)
        with self._lock:
            self._add(ids, np.zeros(len(ids)))

    def observe(self, events: pa.Table) -> int:
        """Count the engagement events among ``events``; returns how many."""
        engaged = _of_type(events, list(ENGAGEMENT_WEIGHTS))
        if len(engaged) == 0:
            return 0
        ts = pc.max(engaged["ts"]).as_py()
        with self._lock:
            if ts is not None:
                self._decay_to(ts.timestamp())
            self._add(engaged["item_id"].to_numpy(), np.ones(len(engaged)))
        return len(engaged)

    def newest(self, n: int) -> IntArray:
        """The ``n`` items made rankable most recently (fresh items first come here), newest last."""
        with self._lock:
            return self._ids[max(self._size - n, 0) : self._size].copy()

    def top(self, k: int, exclude: Sequence[int] = ()) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """The ``k`` most popular items (ids, scores), leaving out ``exclude``."""
        [(ids, scores)] = self.top_many(k, np.asarray([list(exclude)], dtype=np.int64).reshape(1, -1))
        return ids, scores

    def top_many(self, k: int, exclude: IntArray) -> list[tuple[IntArray, npt.NDArray[np.float32]]]:
        """The ``k`` most popular items for each row of ``exclude`` (item ids padded with -1), leaving those out.

        Served from a ranking of the best :attr:`depth` items, recomputed at most every
        ``refresh_s`` seconds after a change, so a fallback feed costs a filter, not a sort: the
        excluded ids are looked up in the ranking and masked for the whole batch at once.
        """
        ids, scores, lookup = self._ranking()
        n = len(exclude)
        if n == 0:
            return []
        ranks = lookup(exclude)
        banned = np.zeros((n, len(ids)), dtype=bool)
        rows, columns = np.nonzero(ranks != ABSENT)
        banned[rows, ranks[rows, columns]] = True
        take = ~banned & (np.cumsum(~banned, axis=1) <= k)
        rows, columns = np.nonzero(take)
        ends = np.cumsum(np.bincount(rows, minlength=n))[:-1]
        chosen_ids, chosen_scores = ids[columns], scores[columns].astype(np.float32)
        return list(zip(np.split(chosen_ids, ends), np.split(chosen_scores, ends), strict=True))

    def _ranking(self) -> tuple[IntArray, npt.NDArray[np.float64], IdPositions]:
        now = time.monotonic()
        if self._ranked is None or (self._dirty and now - self._ranked_at >= self.refresh_s):
            with self._lock:
                size = self._size
                ids, scores = self._ids[:size].copy(), self._scores[:size].copy()
                self._dirty = False
            take = min(self.depth, size)
            if take < size:
                # every item scoring at least the take-th best: ties at the boundary are ranked below
                threshold = np.partition(scores, size - take)[size - take]
                candidates = np.flatnonzero(scores >= threshold)
            else:
                candidates = np.arange(size)
            # best first; among equal scores the newest (highest row) first
            order = candidates[np.lexsort((-candidates, -scores[candidates]))][:take]
            self._ranked, self._ranked_at = (ids[order], scores[order], IdPositions(ids[order])), now
        return self._ranked

    def _decay_to(self, now_s: float) -> None:
        if now_s > self._now_s:
            if self._now_s > 0:
                self._scores[: self._size] *= 0.5 ** ((now_s - self._now_s) / self.half_life_s)
            self._now_s = now_s

    def _add(self, ids: IntArray, weights: npt.NDArray[np.float64]) -> None:
        self._dirty = True
        new = [i for i in dict.fromkeys(ids.tolist()) if i not in self._pos]
        if new:
            need = self._size + len(new)
            if need > len(self._ids):
                capacity = int(need * 1.5)
                self._ids = np.resize(self._ids, capacity)
                self._scores = np.concatenate([self._scores, np.zeros(capacity - len(self._scores))])
            for offset, item in enumerate(new):
                self._pos[item] = self._size + offset
            self._ids[self._size : need] = new
            self._size = need
        rows = np.fromiter((self._pos[i] for i in ids.tolist()), dtype=np.int64, count=len(ids))
        np.add.at(self._scores, rows, weights)
