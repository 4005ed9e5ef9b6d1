"""Small SimNet worlds run end to end for tests, and what they leave behind.

A :class:`Run` keeps every event of a run as one Arrow table together with the world itself
and snapshots of hidden state taken around each day's end, so property tests can check the
world's invariants without re-running it. Worlds are small (hundreds of users, a few days)
so that the whole set stays fast on a shared two-core machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from simnet.config import WorldConfig
from simnet.events import EventLog
from simnet.policies import make_policy
from simnet.world import DayStats, Policy, World


@dataclass
class DaySnapshot:
    """Hidden state of every user just before and just after one ``end_day``."""

    producer_before: np.ndarray
    producer_after: np.ndarray
    alive_before: np.ndarray
    engagement_before: np.ndarray
    satisfaction_after: np.ndarray


@dataclass
class Run:
    """A finished run: the world, all its events, each day's counters and snapshots."""

    world: World
    policy: Policy
    table: pa.Table
    genesis_producers: np.ndarray
    stats: list[DayStats] = field(default_factory=list)
    days: list[DaySnapshot] = field(default_factory=list)


def run_world(cfg: WorldConfig, policy: str | Policy, days: int, seed: int, run_id: str = "t") -> Run:
    """Simulate ``days`` days hour by hour, feeding each hour's events to the policy.

    This is :func:`simnet.runner.simulate`'s loop without metrics or lake, and keeping what
    tests need (see test_runner.py for the runner's own duplicate-events bug).
    """
    world = World(cfg, seed)
    pol: Policy = make_policy(policy, world) if isinstance(policy, str) else policy
    tables: list[pa.Table] = []
    seq = 0

    def flush(log: EventLog) -> None:
        nonlocal seq
        table = log.table(run_id, seq)
        seq += len(table)
        pol.observe(table)
        tables.append(table)

    log = EventLog()
    world.begin(log)
    flush(log)  # the genesis is known to the policy before the first feed
    n = world.users.n
    genesis = np.flatnonzero(world.users.producer[:n])
    snapshots: list[DaySnapshot] = []
    stats: list[DayStats] = []
    for _day in range(days):
        for hour in range(24):
            log = EventLog()
            world.hour(hour, pol, log)
            flush(log)
        users = world.users
        n = users.n
        before = (users.producer[:n].copy(), users.alive[:n].copy(), users.engagement[:n].copy())
        log = EventLog()
        world.end_day(log)
        flush(log)
        snapshots.append(
            DaySnapshot(
                producer_before=before[0],
                producer_after=users.producer[:n].copy(),
                alive_before=before[1],
                engagement_before=before[2],
                satisfaction_after=users.satisfaction[:n].copy(),
            )
        )
        stats.append(world.reset_stats())
    return Run(world, pol, pa.concat_tables(tables), genesis, stats, snapshots)


def small_config(users: int = 600) -> WorldConfig:
    """The default world at ``users`` users, with churn and conversion made frequent.

    Churn and conversion are rare in a short default run; the thresholds are raised so the
    invariants about them are exercised, not satisfied vacuously.
    """
    return WorldConfig.load(
        dynamics={
            "churn_threshold": 0.6,
            "churn_rate": 1.0,
            "conversion_engagement": 3.0,
            "conversion_p": 0.5,
        }
    ).with_users(users)


POLICY_NAMES = ("random", "popularity", "oracle")
SEED = 11
DAYS = 3
