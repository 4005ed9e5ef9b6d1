"""Reference policies: random (the floor), popularity (the usual baseline), oracle (the ceiling).

Random and popularity learn only from the events, as a platform would. The
oracle reads the world's hidden state to rank by true utility; it is the upper
bound a learned recommender is measured against and never leaves simnet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simnet import behaviour
from simnet.protocol import EventType, RecommendationBatchRequest, RecommendationBatchResponse
from simnet.rowsets import EMPTY, distinct_draws, isin_rows, push_rows

if TYPE_CHECKING:
    from simnet.world import World

US_PER_HOUR = 3_600_000_000


class _Base:
    """Catalogue learned from create events, request ids, and the response format."""

    name = "base"
    model_version = "reference"

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.catalogue = np.empty(0, dtype=np.int64)
        self._requests = 0

    def observe(self, events: pa.Table) -> None:
        created = events.filter(pc.equal(events["type"], EventType.CREATE.value))["item_id"]
        if len(created):
            self.catalogue = np.concatenate([self.catalogue, created.to_numpy()])

    def _respond(self, slates: np.ndarray, scores: np.ndarray) -> RecommendationBatchResponse:
        n = slates.shape[0]
        first, self._requests = self._requests, self._requests + n
        keep = slates != EMPTY
        if keep.all():
            ids, vals = slates.tolist(), scores.tolist()
        else:
            ids = [row[m].tolist() for row, m in zip(slates, keep, strict=True)]
            vals = [row[m].tolist() for row, m in zip(scores, keep, strict=True)]
        return RecommendationBatchResponse(
            request_ids=[f"{self.name}-{i}" for i in range(first, first + n)],
            item_ids=ids,
            scores=vals,
            arms=[self.name] * n,
            model_versions=[self.model_version] * n,
            fallback=[False] * n,
        )


class RandomPolicy(_Base):
    """Uniformly random items from the catalogue: what no learning at all achieves."""

    name = "random"

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse:
        n, k = len(request.user_ids), request.k
        if self.catalogue.size == 0:
            return self._respond(np.full((n, 0), EMPTY), np.zeros((n, 0)))
        k = min(k, self.catalogue.size)
        pick = distinct_draws(self.rng, self.catalogue.size, n, k)
        return self._respond(self.catalogue[pick], np.zeros(pick.shape))


class PopularityPolicy(_Base):
    """Trending items: most clicks, decayed by age, skipping what it already served the user.

    The last ``explore`` slots of each slate show random items of the past
    day, so that new items can earn the clicks that make them trend.
    """

    name = "popularity"

    def __init__(
        self,
        rng: np.random.Generator,
        half_life_hours: float = 12.0,
        memory: int = 64,
        window: int = 300,
        explore: int = 2,
        fresh_hours: float = 24.0,
    ) -> None:
        super().__init__(rng)
        self.half_life_hours, self.memory, self.explore = half_life_hours, memory, explore
        self.window = window
        self.fresh_us = int(fresh_hours * US_PER_HOUR)
        self.created_us = np.empty(0, dtype=np.int64)
        self.fresh = np.empty(0, dtype=np.int64)
        self.score = np.zeros(0, dtype=np.float64)
        self.ranking = np.empty(0, dtype=np.int64)
        self.served = np.full((0, memory), EMPTY, dtype=np.int64)
        self.cursor = np.zeros(0, dtype=np.int64)
        self.last_us: int | None = None

    def observe(self, events: pa.Table) -> None:
        super().observe(events)
        if len(events) == 0:
            return
        now = int(pc.max(events["ts"]).cast(pa.int64()).as_py())
        if self.last_us is not None:
            self.score *= 0.5 ** (max(now - self.last_us, 0) / US_PER_HOUR / self.half_life_hours)
        self.last_us = now
        if self.catalogue.size:
            grown = np.zeros(int(self.catalogue.max()) + 1)
            grown[: self.score.size] = self.score
            self.score = grown
        clicks = events.filter(pc.equal(events["type"], EventType.CLICK.value))["item_id"].to_numpy()
        np.add.at(self.score, clicks, 1.0)
        creates = events.filter(pc.equal(events["type"], EventType.CREATE.value))
        self.created_us = np.concatenate([self.created_us, creates["ts"].cast(pa.int64()).to_numpy()])
        self.fresh = self.catalogue[self.created_us > now - self.fresh_us]
        jitter = self.rng.random(self.catalogue.size) * 1e-3
        order = np.argsort(-(self.score[self.catalogue] + jitter), kind="stable")
        self.ranking = self.catalogue[order]

    def _memory_for(self, users: np.ndarray) -> None:
        top = int(users.max()) + 1 if users.size else 0
        if top > self.served.shape[0]:
            grow = max(top, 2 * self.served.shape[0]) - self.served.shape[0]
            self.served = np.vstack([self.served, np.full((grow, self.memory), EMPTY, dtype=np.int64)])
            self.cursor = np.concatenate([self.cursor, np.zeros(grow, dtype=np.int64)])

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse:
        users = np.asarray(request.user_ids, dtype=np.int64)
        n, k = users.size, min(request.k, self.ranking.size)
        if k == 0:
            return self._respond(np.full((n, 0), EMPTY), np.zeros((n, 0)))
        self._memory_for(users)
        explore = min(self.explore, self.fresh.size, k - 1)
        top = self.ranking[: self.window]
        # Sample the trending slots in proportion to popularity (Gumbel top-k on log score).
        weight = np.log(self.score[top] + 0.5) + self.rng.gumbel(size=(n, top.size))
        short = min(k - explore + 8, top.size)
        part = np.argpartition(-weight, short - 1, axis=1)[:, :short]
        part = np.take_along_axis(part, np.argsort(-np.take_along_axis(weight, part, axis=1), axis=1), axis=1)
        candidates = top[part]  # the sampled trending items, best first
        served = isin_rows(candidates, self.served[users])
        order = np.argsort(served, axis=1, kind="stable")[:, : k - explore]  # unserved first
        slates = np.take_along_axis(candidates, order, axis=1)
        if explore:
            fresh = self.fresh[distinct_draws(self.rng, self.fresh.size, n, explore)]
            fresh[isin_rows(fresh, slates)] = EMPTY
            slates = np.concatenate([slates, fresh], axis=1)
        if np.unique(users).size == n:
            push_rows(self.served, self.cursor, users, slates)
        return self._respond(slates, np.where(slates == EMPTY, 0.0, self.score[slates]))


class OraclePolicy(_Base):
    """Ranks by the world's hidden utility plus long-term value: the upper bound.

    Candidates come from per-topic pools of the best items for each of the
    user's three strongest topics; within a pool each further pick pays a
    small diversity penalty, so slates are not all one topic.
    """

    name = "oracle"

    def __init__(self, rng: np.random.Generator, world: World, pool: int = 60, diversity: float = 0.35) -> None:
        super().__init__(rng)
        self.world, self.pool, self.diversity = world, pool, diversity
        self._pools: np.ndarray | None = None
        self._pools_at: int | None = None

    def _topic_pools(self, now_us: int) -> np.ndarray:
        if self._pools is not None and self._pools_at == now_us:
            return self._pools
        items, beh = self.world.items, self.world.cfg.behaviour
        known = self.catalogue
        age_h = (now_us - items.created_us[known]) / US_PER_HOUR
        static = items.quality[known] * 1.5 - beh.clickbait_regret * items.clickbait[known]
        static = static + beh.w_novelty * np.exp(-np.maximum(age_h, 0) / beh.novelty_hours)
        main = items.mix[known].argmax(axis=1)
        topics = items.mix.shape[1]
        pools = np.full((topics, self.pool), EMPTY, dtype=np.int64)
        for t in range(topics):
            idx = np.flatnonzero(main == t)
            best = idx[np.argsort(-static[idx])[: self.pool]]
            pools[t, : best.size] = known[best]
        self._pools, self._pools_at = pools, now_us
        return pools

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse:
        world = self.world
        users = np.asarray(request.user_ids, dtype=np.int64)
        now_us = int(request.ts.timestamp() * 1_000_000)
        pools = self._topic_pools(now_us)
        strongest = np.argsort(-world.users.interests[users], axis=1)[:, :3]
        topics = strongest.shape[1]  # three, or fewer in a world of fewer topics
        candidates = pools[strongest].reshape(users.size, -1)  # (B, topics * pool)
        appeal = behaviour.appeal(
            world.cfg.behaviour, world.users, world.items, world.follows, users, candidates, now_us
        )
        worth = np.where(candidates == EMPTY, -np.inf, appeal.utility + appeal.value)
        worth = worth.reshape(users.size, topics, self.pool)
        order = np.argsort(-worth, axis=2)
        ranked = np.take_along_axis(worth, order, axis=2) - self.diversity * np.arange(self.pool)
        cands = np.take_along_axis(candidates.reshape(users.size, topics, self.pool), order, axis=2)
        flat, flat_items = ranked.reshape(users.size, -1), cands.reshape(users.size, -1)
        k = min(request.k, flat.shape[1])
        top = np.argsort(-flat, axis=1)[:, :k]
        slates = np.take_along_axis(flat_items, top, axis=1)
        scores = np.take_along_axis(flat, top, axis=1)
        slates = np.where(np.isfinite(scores), slates, EMPTY)
        return self._respond(slates, np.where(np.isfinite(scores), scores, 0.0))


POLICIES = ("random", "popularity", "oracle")


def make_policy(name: str, world: World) -> RandomPolicy | PopularityPolicy | OraclePolicy:
    """A reference policy by name, seeded from the world's seed."""
    rng = np.random.default_rng(world.policy_seed)
    if name == "random":
        return RandomPolicy(rng)
    if name == "popularity":
        return PopularityPolicy(rng)
    if name == "oracle":
        return OraclePolicy(rng, world)
    raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}")
