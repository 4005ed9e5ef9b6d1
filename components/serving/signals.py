"""What the recommender learns online from the events that pass through it.

- :class:`SeenItems`: the items each user was recently served or shown, filtered from their next feeds.
- :class:`Popularity`: exponentially decayed engagement per item, the fallback ranking.

Both read batches of events in their columnar form (:data:`simnet.protocol.EVENT_SCHEMA`), as the
ingest service hands them over once stored, and both are safe to read while being updated.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]

ENGAGEMENT_WEIGHTS = {"click": 1.0, "like": 1.0, "share": 1.0}
"""Event types that count towards popularity, as in the ETL's item_popularity table."""


def _of_type(events: pa.Table, types: Sequence[str]) -> pa.Table:
    mask = pc.is_in(events["type"], value_set=pa.array(list(types), pa.string()))
    return events.filter(mask)


class SeenItems:
    """The last ``per_user`` items each user was served or shown, oldest first.

    A feed is recorded as it is served (:meth:`add`), so a user who asks again before their
    impressions arrive is not served the same items twice; impression events (:meth:`observe`)
    add what other servers or replicas showed them.
    """

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._items: dict[int, array[int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, user_id: int, item_ids: Sequence[int]) -> None:
        """Record the items just served to ``user_id``."""
        if self.per_user and len(item_ids):
            with self._lock:
                self._extend(int(user_id), item_ids)

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
        ends = np.r_[starts[1:], len(users)]
        with self._lock:
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                self._extend(int(users[start]), items[start:end].tolist())
        return len(shown)

    def _extend(self, user: int, item_ids: Sequence[int]) -> None:
        seen = self._items.get(user)
        if seen is None:
            seen = self._items[user] = array("q")
        seen.extend(item_ids)
        if len(seen) > 2 * self.per_user:
            # keep the latest occurrence of each item, in order, then the newest per_user of them
            latest = list(dict.fromkeys(reversed(seen)))[: self.per_user]
            self._items[user] = array("q", reversed(latest))

    def get(self, user_id: int) -> list[int]:
        """The items recently served or shown to ``user_id`` (distinct, at most ``per_user``), oldest first."""
        seen = self._items.get(user_id)
        if seen is None:
            return []
        return list(dict.fromkeys(reversed(seen)))[: self.per_user][::-1]


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
        self._ranked: tuple[IntArray, npt.NDArray[np.float64]] | None = None
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

    def top(self, k: int, exclude: Sequence[int] = ()) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """The ``k`` most popular items (ids, scores), leaving out ``exclude``.

        Served from a ranking of the best :attr:`depth` items, recomputed at most every
        ``refresh_s`` seconds after a change, so a fallback feed costs a filter, not a sort.
        """
        ids, scores = self._ranking()
        if exclude:
            keep = ~np.isin(ids, np.asarray(exclude, dtype=np.int64))
            ids, scores = ids[keep], scores[keep]
        return ids[:k].copy(), scores[:k].astype(np.float32)

    def _ranking(self) -> tuple[IntArray, npt.NDArray[np.float64]]:
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
            self._ranked, self._ranked_at = (ids[order], scores[order]), now
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
