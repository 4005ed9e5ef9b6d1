"""Who sends the real-time traffic, and how they react to the slates they get back.

A :class:`Crowd` draws the users of a run's arrivals and turns the platform's answers into
reactions. :class:`WorldCrowd` is a built SimNet world: users are drawn by their arrival rate
and react through :mod:`simnet.behaviour`, the world's own utility and choice model.
:class:`SyntheticCrowd` needs no world (uniform user ids, a simple position-biased click model)
for tests and for servers that ignore who asks. :func:`encode_events` writes the reactions as
the JSON events of ``POST /events``, ready to send.

Every arrival is the first slate of a session (``slate_index`` 0): the traffic is open loop, so a
user cannot ask for their next slate in answer to this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from simnet import behaviour
from simnet.config import WorldConfig
from simnet.events import EventLog
from simnet.policies import make_policy
from simnet.protocol import MAX_SLATE, EventType
from simnet.rowsets import EMPTY, push_rows
from simnet.runner import RunSpec
from simnet.world import DAY_US, US, World

# Offsets of the reaction events from the moment the slate arrived, as in World._sessions/_click.
POSITION_S = 0.3  # each rank further down is examined this much later
CLICK_S = 2.0  # a click comes this long after its impression
LIKE_S, SHARE_S, FOLLOW_S = 1.0, 2.0, 3.0  # after the dwell ends


@dataclass(frozen=True, slots=True)
class Served:
    """One answered request, as the platform returned it."""

    user_id: int
    items: list[int]  # the slate in rank order, at most k ids
    request_id: str
    arm: str
    model_version: str
    at: float  # when the answer arrived, seconds since the epoch


@dataclass(frozen=True)
class Reactions:
    """What each served slate led to; one entry per slate, ``position`` -1 for no click."""

    position: np.ndarray  # clicked rank, -1 for none
    dwell_ms: np.ndarray  # time spent on the clicked item
    like: np.ndarray
    share: np.ndarray
    follow: np.ndarray

    @classmethod
    def none(cls, n: int) -> Reactions:
        """No clicks at all."""
        flags = np.zeros((3, n), dtype=bool)
        return cls(np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64), flags[0], flags[1], flags[2])


class Crowd(Protocol):
    """The users behind a run's arrivals."""

    name: str

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` user ids, one per arrival."""
        ...

    def react(self, served: list[Served], rng: np.random.Generator) -> Reactions:
        """How the users of ``served`` respond to their slates."""
        ...


class SyntheticCrowd:
    """Users ``0 .. users - 1`` drawn uniformly; a slate is clicked with a fixed chance.

    The click lands on rank r with weight ``position_decay ** r``; dwell is lognormal around
    40 s; a click is liked with chance ``like_p``. Item ids are taken as they come.
    """

    name = "synthetic"

    def __init__(self, users: int, click_p: float = 0.3, like_p: float = 0.2, position_decay: float = 0.85) -> None:
        if users < 1:
            raise ValueError("a synthetic crowd needs at least one user")
        self.users, self.click_p, self.like_p, self.decay = users, click_p, like_p, position_decay

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, self.users, size=n)

    def react(self, served: list[Served], rng: np.random.Generator) -> Reactions:
        n = len(served)
        out = Reactions.none(n)
        sizes = np.array([len(s.items) for s in served], dtype=np.int64)
        click = (rng.random(n) < self.click_p) & (sizes > 0)
        for j in np.flatnonzero(click):
            weight = self.decay ** np.arange(sizes[j])
            out.position[j] = rng.choice(sizes[j], p=weight / weight.sum())
        out.dwell_ms[:] = np.clip(40_000 * rng.lognormal(0.0, 0.5, size=n), 1000, 3_600_000)
        out.like[:] = click & (rng.random(n) < self.like_p)
        return out


class WorldCrowd:
    """A built SimNet world whose users ask for feeds and react by its behaviour model.

    Users are drawn among the living by the world's arrival rate, ``activity * (return_floor +
    return_gain * satisfaction)``. A slate is screened as the world screens it (ids the world
    does not know, items not yet created and repeats are shown but cannot be chosen), then
    :func:`behaviour.appeal`, :func:`behaviour.slate_similarity` and :func:`behaviour.choose` pick
    the click, and dwell, like, share and follow follow it as in ``World._click``. Users remember
    what they were shown and clicked and whom they follow, so repeats lose appeal; the slower
    dynamics (satisfaction, boredom, drift, churn) belong to the accelerated mode and stay put.
    """

    name = "world"

    def __init__(self, world: World, started: float | None = None) -> None:
        self.world = world
        self.started = datetime.now(UTC).timestamp() if started is None else started
        self.origin_us = world.start_us + world.day * DAY_US  # the world's clock when traffic starts

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        users, dyn = self.world.users, self.world.cfg.dynamics
        alive = np.flatnonzero(users.alive[: users.n])
        rate = users.activity[alive] * (dyn.return_floor + dyn.return_gain * users.satisfaction[alive])
        return rng.choice(alive, size=n, p=rate / rate.sum())

    def react(self, served: list[Served], rng: np.random.Generator) -> Reactions:
        world = self.world
        beh, users, items = world.cfg.behaviour, world.users, world.items
        n = len(served)
        out = Reactions.none(n)
        k = max((len(s.items) for s in served), default=0)
        if n == 0 or k == 0:
            return out
        slates = np.full((n, k), EMPTY, dtype=np.int64)
        for j, s in enumerate(served):
            slates[j, : len(s.items)] = s.items
        who = np.array([s.user_id for s in served], dtype=np.int64)
        now = self.origin_us + int((max(s.at for s in served) - self.started) * US)
        known = (slates >= 0) & (slates < items.n)
        safe = np.where(known, slates, 0)
        known &= items.created_us[safe] <= now
        earlier = np.tril(np.ones((k, k), dtype=bool), -1)
        known &= ~((slates[:, :, None] == slates[:, None, :]) & earlier).any(axis=2)
        slates = np.where(known, slates, EMPTY)

        appeal = behaviour.appeal(beh, users, items, world.follows, who, slates, now)
        similarity = behaviour.slate_similarity(items, slates)
        pick = behaviour.choose(beh, appeal.utility, similarity, known, np.zeros(n), rng)
        c = np.flatnonzero(pick >= 0)
        v = appeal.value[c, pick[c]].astype(np.float64)
        item = slates[c, pick[c]]
        dwell = beh.dwell_seconds * 1000 * np.exp(0.7 * v + rng.normal(0, 0.5, size=c.size))
        creator = items.creator[item]
        fresh = ~world.follows.contains(who[c], creator) & (creator != who[c])
        out.position[c] = pick[c]
        out.dwell_ms[c] = dwell.clip(1000, 3_600_000).astype(np.int64)
        out.like[c] = rng.random(c.size) < behaviour.sigmoid(beh.like_base + v)
        out.share[c] = rng.random(c.size) < behaviour.sigmoid(beh.share_base + v)
        out.follow[c] = fresh & (rng.random(c.size) < behaviour.sigmoid(beh.follow_base + v))

        for rows in _distinct(who):  # a ring row takes one batch row at a time
            push_rows(users.seen, users.seen_cursor, who[rows], slates[rows])
        for rows in _distinct(who[c]):
            push_rows(users.clicked, users.clicked_cursor, who[c][rows], item[rows, None])
        followed = out.follow[c]
        world.follows.add(who[c][followed], creator[followed])
        world.follows.commit()
        return out


def _distinct(ids: np.ndarray) -> Iterator[np.ndarray]:
    """Positions of ``ids`` in rounds, each round holding every id at most once."""
    left = np.arange(ids.size)
    while left.size:
        _, first = np.unique(ids[left], return_index=True)
        yield left[first]
        left = np.delete(left, first)


def replay(spec: RunSpec) -> World:
    """The world as ``simnet run`` with ``spec`` leaves it: genesis, then ``spec.days`` days.

    The loop is the runner's (same policy, same order of observations), so the world's state
    and its item ids are those of the lake a run with the same spec writes.
    """
    world = World(spec.config, spec.seed)
    policy = make_policy(spec.policy, world)
    log, seq = EventLog(), 0
    world.begin(log)
    for day in range(spec.days):
        for hour in range(25):
            if hour or day:  # the genesis events go out with the first hour, as in the runner
                log = EventLog()
            if hour < 24:
                world.hour(hour, policy, log)
            else:
                world.end_day(log)
            table = log.table(spec.run_id, seq)
            seq += len(table)
            policy.observe(table)
        world.reset_stats()
    return world


def build_crowd(world: RunSpec | None = None, synthetic_users: int = 100_000) -> Crowd:
    """A :class:`WorldCrowd` for the world of ``world``, or a :class:`SyntheticCrowd` without one."""
    if world is None:
        return SyntheticCrowd(synthetic_users)
    return WorldCrowd(replay(world))


def default_world(users: int = 100_000, seed: int = 7, days: int = 0, config: WorldConfig | None = None) -> RunSpec:
    """The spec of ``simnet run``'s world (default configuration, popularity) at ``users`` users."""
    cfg = (config or WorldConfig.load()).with_users(users)
    return RunSpec(config=cfg, policy="popularity", days=days, seed=seed)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds")


def _echo(served: Served) -> str:
    """The JSON fields a slate's events echo; a value the protocol cannot carry is left out."""
    parts = []
    for key, value in (("request_id", served.request_id), ("arm", served.arm), ("model_version", served.model_version)):
        if isinstance(value, str) and len(value) <= 64 and (value or key != "request_id"):
            parts.append(f',"{key}":{json.dumps(value)}')
    return "".join(parts)


def encode_events(served: list[Served], reactions: Reactions, prefix: str, first: int) -> list[str]:
    """Each slate's events as JSON objects, ids ``<prefix>-<n>`` numbered from ``first``.

    An impression for every shown item (ids that cannot be sent, negative ones, are skipped);
    then, for a clicked slate, click and dwell, and like, share and follow as they happened.
    """
    out: list[str] = []
    seq = first
    for j, s in enumerate(served):
        echo = _echo(s)
        head = f',"user_id":{s.user_id},"type":"'
        for pos, item in enumerate(s.items[:MAX_SLATE]):
            if item >= 0:
                ts = _iso(s.at + pos * POSITION_S)
                out.append(
                    f'{{"event_id":"{prefix}-{seq}","ts":"{ts}"{head}impression","item_id":{item}'
                    f'{echo},"position":{pos}}}'
                )
                seq += 1
        pos = int(reactions.position[j])
        if pos < 0 or pos >= len(s.items) or s.items[pos] < 0:
            continue
        item, dwell = s.items[pos], int(reactions.dwell_ms[j])
        clicked = s.at + pos * POSITION_S + CLICK_S
        after = clicked + dwell / 1000
        slate = f',"item_id":{item}{echo},"position":{pos}'
        steps = [(clicked, EventType.CLICK, slate), (after, EventType.DWELL, f'{slate},"dwell_ms":{dwell}')]
        if reactions.like[j]:
            steps.append((after + LIKE_S, EventType.LIKE, slate))
        if reactions.share[j]:
            steps.append((after + SHARE_S, EventType.SHARE, slate))
        if reactions.follow[j]:
            steps.append((after + FOLLOW_S, EventType.FOLLOW, f',"item_id":{item}'))
        for at, kind, rest in steps:
            out.append(f'{{"event_id":"{prefix}-{seq}","ts":"{_iso(at)}"{head}{kind.value}"{rest}}}')
            seq += 1
    return out
