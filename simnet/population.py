"""Who lives in the world and what they post: users, producers and items.

All state is struct-of-arrays with spare capacity, so that thousands of users
are simulated with one numpy expression. Everything here is hidden from the
platform: it only ever sees the events and the content of items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from simnet.config import Items as ItemsConfig
from simnet.config import Population as PopulationConfig
from simnet.rowsets import EMPTY


class _Store:
    """Growable struct of arrays: every ndarray field has one row per entity."""

    n: int

    def _fill(self, name: str) -> float | int | bool:
        return EMPTY if name in {"seen", "clicked"} else 0

    def _reserve(self, extra: int) -> np.ndarray:
        """Room for ``extra`` more rows; returns their indices."""
        need = self.n + extra
        for f in fields(self):  # type: ignore[arg-type]
            arr = getattr(self, f.name)
            if not isinstance(arr, np.ndarray) or arr.shape[0] >= need:
                continue
            grown = np.full((max(need, 2 * arr.shape[0]), *arr.shape[1:]), self._fill(f.name), dtype=arr.dtype)
            grown[: arr.shape[0]] = arr
            setattr(self, f.name, grown)
        idx = np.arange(self.n, need)
        self.n = need
        return idx


def _empty(cols: int | None, dtype: type | str, fill: float = 0) -> np.ndarray:
    shape = (0,) if cols is None else (0, cols)
    return np.full(shape, fill, dtype=dtype)


@dataclass
class Users(_Store):
    """Users' hidden state; a user's id is their row."""

    topics: int
    memory: int
    click_memory: int
    n: int = 0
    interests: np.ndarray = field(init=False)  # (n, T) topic distribution, sums to 1
    activity: np.ndarray = field(init=False)  # base sessions per day (heavy-tailed)
    satisfaction: np.ndarray = field(init=False)  # in [0, 1]
    low_days: np.ndarray = field(init=False)  # consecutive days ending below the churn threshold
    boredom: np.ndarray = field(init=False)  # (n, T) decayed recent clicks per topic
    alive: np.ndarray = field(init=False)  # False once churned
    producer: np.ndarray = field(init=False)  # posts items
    signup_day: np.ndarray = field(init=False)
    skill: np.ndarray = field(init=False)  # a producer's mean item quality
    clickbaiter: np.ndarray = field(init=False)  # a producer who writes clickbait
    audience: np.ndarray = field(init=False)  # a producer's decayed clicks received
    clicks_received: np.ndarray = field(init=False)  # clicks on the producer's items today
    idle_days: np.ndarray = field(init=False)  # a producer's days in a row without a click
    engagement: np.ndarray = field(init=False)  # the user's clicks+likes+shares today
    value_today: np.ndarray = field(init=False)  # long-term value of the user's clicks since the last tally
    sessions: np.ndarray = field(init=False)  # sessions over the run
    last_us: np.ndarray = field(init=False)  # time of the user's latest event
    seen: np.ndarray = field(init=False)  # (n, memory) ring of recent impressions
    seen_cursor: np.ndarray = field(init=False)
    clicked: np.ndarray = field(init=False)  # (n, click_memory) ring of recent clicks
    clicked_cursor: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        t = self.topics
        self.interests = _empty(t, np.float32)
        self.activity = _empty(None, np.float32)
        self.satisfaction = _empty(None, np.float32)
        self.low_days = _empty(None, np.int16)
        self.boredom = _empty(t, np.float32)
        self.alive = _empty(None, bool)
        self.producer = _empty(None, bool)
        self.signup_day = _empty(None, np.int32)
        self.skill = _empty(None, np.float32)
        self.clickbaiter = _empty(None, bool)
        self.audience = _empty(None, np.float32)
        self.clicks_received = _empty(None, np.float32)
        self.idle_days = _empty(None, np.int16)
        self.engagement = _empty(None, np.float32)
        self.value_today = _empty(None, np.float32)
        self.sessions = _empty(None, np.int32)
        self.last_us = _empty(None, np.int64)
        self.seen = _empty(self.memory, np.int64, EMPTY)
        self.seen_cursor = _empty(None, np.int64)
        self.clicked = _empty(self.click_memory, np.int64, EMPTY)
        self.clicked_cursor = _empty(None, np.int64)


@dataclass
class Catalogue(_Store):
    """Items' hidden state; an item's id is its row, assigned in order of creation."""

    topics: int
    n: int = 0
    mix: np.ndarray = field(init=False)  # (n, T) topic mixture, sums to 1
    quality: np.ndarray = field(init=False)  # long-term worth to a matching user
    clickbait: np.ndarray = field(init=False)  # in [0, 1]: attracts clicks, disappoints after
    creator: np.ndarray = field(init=False)  # the producer's user id
    created_us: np.ndarray = field(init=False)  # creation time, microseconds since the epoch
    impressions: np.ndarray = field(init=False)
    clicks: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.mix = _empty(self.topics, np.float32)
        self.quality = _empty(None, np.float32)
        self.clickbait = _empty(None, np.float32)
        self.creator = _empty(None, np.int64)
        self.created_us = _empty(None, np.int64)
        self.impressions = _empty(None, np.int64)
        self.clicks = _empty(None, np.int64)


class Genesis:
    """Draws new users and items from the configured distributions."""

    def __init__(self, pop: PopulationConfig, items: ItemsConfig, rng: np.random.Generator) -> None:
        if pop.topics % pop.clusters:
            raise ValueError(f"topics ({pop.topics}) must split evenly into clusters ({pop.clusters})")
        self.pop, self.items_cfg, self.rng = pop, items, rng
        ranks = np.arange(1, pop.clusters + 1, dtype=np.float64)
        weights = ranks**-pop.cluster_skew
        self.cluster_p = weights / weights.sum()

    def interests(self, n: int) -> np.ndarray:
        """Sparse clustered interests: one or two clusters, a few topics inside, a thin tail."""
        pop, rng = self.pop, self.rng
        per = pop.topics // pop.clusters
        out = np.zeros((n, pop.topics), dtype=np.float64)
        rows = np.arange(n)
        first = rng.choice(pop.clusters, size=n, p=self.cluster_p)
        second = (first + 1 + rng.integers(0, max(pop.clusters - 1, 1), size=n)) % pop.clusters
        has_second = (rng.random(n) < pop.second_cluster_p) & (pop.clusters > 1)
        share = np.where(has_second, rng.uniform(0.55, 0.8, size=n), 1.0)
        for cluster, weight in ((first, share), (second, 1.0 - share)):
            inside = rng.gamma(pop.interest_alpha, size=(n, per))
            inside /= inside.sum(axis=1, keepdims=True)
            cols = cluster[:, None] * per + np.arange(per)
            np.add.at(out, (rows[:, None], cols), weight[:, None] * inside)
        out = (1.0 - pop.interest_tail) * out + pop.interest_tail / pop.topics
        return out.astype(np.float32)

    def add_users(self, users: Users, n: int, day: int, satisfaction: float) -> np.ndarray:
        """``n`` new consumers signing up on ``day``; returns their ids."""
        idx = users._reserve(n)
        users.interests[idx] = self.interests(n)
        sigma = self.pop.activity_sigma
        users.activity[idx] = self.pop.activity_mean * self.rng.lognormal(-(sigma**2) / 2, sigma, size=n)
        users.satisfaction[idx] = satisfaction
        users.alive[idx] = True
        users.signup_day[idx] = day
        return idx

    def make_producers(self, users: Users, ids: np.ndarray) -> None:
        """Turn users into producers with a skill and a style of their own."""
        cfg = self.items_cfg
        users.producer[ids] = True
        users.skill[ids] = self.rng.normal(0.0, cfg.creator_skill_sd, size=ids.size)
        users.clickbaiter[ids] = self.rng.random(ids.size) < cfg.clickbait_creator_share
        users.idle_days[ids] = 0

    def add_items(self, catalogue: Catalogue, users: Users, creators: np.ndarray, created_us: np.ndarray) -> np.ndarray:
        """One new item per entry of ``creators``, about the creator's own interests."""
        cfg, rng = self.items_cfg, self.rng
        n = creators.size
        idx = catalogue._reserve(n)
        interests = users.interests[creators].astype(np.float64)
        cum = interests.cumsum(axis=1)
        main = (cum < rng.random((n, 1)) * cum[:, -1:]).sum(axis=1).clip(max=self.pop.topics - 1)
        other = (cum < rng.random((n, 1)) * cum[:, -1:]).sum(axis=1).clip(max=self.pop.topics - 1)
        mixed = (rng.random(n) < cfg.secondary_topic_p) & (other != main)
        weight = np.where(mixed, rng.uniform(0.6, 0.9, size=n), 1.0)
        mix = np.zeros((n, self.pop.topics), dtype=np.float32)
        rows = np.arange(n)
        mix[rows, main] += weight
        mix[rows, other] += 1.0 - weight
        catalogue.mix[idx] = mix
        catalogue.quality[idx] = users.skill[creators] + rng.normal(0.0, cfg.quality_sd, size=n)
        bait = users.clickbaiter[creators]
        catalogue.clickbait[idx] = np.where(bait, rng.beta(4, 3, size=n), rng.beta(1, 8, size=n))
        catalogue.creator[idx] = creators
        catalogue.created_us[idx] = created_us
        return idx
