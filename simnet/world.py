"""The world's clock: users arrive, ask for feeds, respond, post, refer, convert and leave.

The world advances an hour at a time. Within an hour every arriving user's
session is simulated in lock-step rounds (one slate per round for all open
sessions), which keeps each step a handful of numpy operations over thousands
of users. Policies are asked through the batch protocol once per round and
learn from the events of the hour when it ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import numpy as np
import pyarrow as pa

from simnet import behaviour
from simnet.config import WorldConfig
from simnet.content import ContentModel
from simnet.events import EventLog
from simnet.population import Catalogue, Genesis, Users
from simnet.protocol import EventType, RecommendationBatchRequest, RecommendationBatchResponse
from simnet.rowsets import EMPTY, PairSet, push_rows

log = logging.getLogger(__name__)

US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
# Share of a day's sessions in each hour, mean 1: quiet nights, busy evenings.
DIURNAL = 1.0 + 0.6 * np.sin(2 * np.pi * (np.arange(24) - 14) / 24)


class Policy(Protocol):
    """Anything that answers batch recommendation requests and may learn from events."""

    name: str

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse: ...

    def observe(self, events: pa.Table) -> None: ...


class PolicyError(RuntimeError):
    """The policy broke the protocol (e.g. answered the wrong number of requests)."""


@dataclass
class DayStats:
    """What the world counts during a day that the events do not show."""

    sessions: int = 0
    slates: int = 0
    value: float = 0.0  # summed long-term value of clicks
    shares: int = 0
    conversions: int = 0
    quits: int = 0
    invalid_items: int = 0
    producers: int = 0  # producers alive at the day's end, before quits
    producers_clicked: int = 0  # ... whose items were clicked that day
    value_by_user: np.ndarray | None = None  # each user's summed value of clicks (row = user id)


class World:
    """One seeded world: hidden state, dynamics and the events they produce."""

    def __init__(self, cfg: WorldConfig, seed: int) -> None:
        self.cfg, self.seed = cfg, seed
        world_seq, content_seq, policy_seq = np.random.SeedSequence(seed).spawn(3)
        self.rng = np.random.default_rng(world_seq)
        self.policy_seed = policy_seq
        pop, beh = cfg.population, cfg.behaviour
        self.genesis = Genesis(pop, cfg.items, self.rng)
        self.content = ContentModel(cfg.content, pop.topics, np.random.default_rng(content_seq))
        self.users = Users(pop.topics, beh.memory, beh.click_memory)
        self.items = Catalogue(pop.topics)
        self.follows = PairSet()
        self.start = date.fromisoformat(cfg.start_date)
        self.start_us = int(datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()) * US
        self.day = 0
        self.stats = DayStats()
        self._shares_last_hour = 0

    # -- time ----------------------------------------------------------------
    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def ts(self, us: int) -> datetime:
        return datetime.fromtimestamp(us / US, tz=UTC)

    # -- the first moment ------------------------------------------------------
    def begin(self, events: EventLog) -> None:
        """Genesis: the starting users sign up and the starting catalogue is posted, at the start time."""
        pop = self.cfg.population
        users = self.genesis.add_users(self.users, pop.users, 0, self.cfg.dynamics.initial_satisfaction)
        events.add(EventType.SIGNUP, np.full(users.size, self.start_us), users)
        self.users.last_us[users] = self.start_us
        n_producers = max(1, round(pop.producer_share * pop.users))
        self.genesis.make_producers(self.users, self.rng.choice(users, size=n_producers, replace=False))
        producers = np.flatnonzero(self.users.producer[: self.users.n])
        creators = self.rng.choice(producers, size=pop.initial_items)
        self._post(events, creators, np.full(creators.size, self.start_us))

    def _post(self, events: EventLog, creators: np.ndarray, ts_us: np.ndarray) -> None:
        if creators.size == 0:
            return
        items = self.genesis.add_items(self.items, self.users, creators, ts_us)
        mix = self.items.mix[items]
        events.add(EventType.CREATE, ts_us, creators, items)
        events.content(items, self.content.texts(mix), self.content.images(mix))

    # -- an hour -------------------------------------------------------------
    def hour(self, hour: int, policy: Policy, events: EventLog) -> None:
        """Simulate one hour of the current day: signups, sessions, posts."""
        users, dyn, rng = self.users, self.cfg.dynamics, self.rng
        t0 = self.start_us + self.day * DAY_US + hour * HOUR_US
        alive = users.alive[: users.n]
        rate = dyn.signup_rate * alive.sum() / 24 * DIURNAL[hour] + dyn.referrals_per_share * self._shares_last_hour
        new = self.genesis.add_users(users, int(rng.poisson(rate)), self.day, dyn.initial_satisfaction)
        signed_up = t0 + rng.integers(0, HOUR_US, size=new.size)
        events.add(EventType.SIGNUP, signed_up, new)
        users.last_us[new] = signed_up

        old = np.flatnonzero(alive)
        sat = users.satisfaction[old]
        lam = users.activity[old] * (dyn.return_floor + dyn.return_gain * sat) / 24 * DIURNAL[hour]
        arriving = old[rng.random(old.size) < -np.expm1(-lam)]
        who = np.concatenate([arriving, new])
        start = np.concatenate([t0 + rng.integers(0, HOUR_US, size=arriving.size), signed_up + US])
        users.sessions[who] += 1
        self.stats.sessions += who.size
        shares_before = self.stats.shares
        self._sessions(policy, who, start, t0, events)
        self._shares_last_hour = self.stats.shares - shares_before

        producers = np.flatnonzero(users.producer[: users.n] & users.alive[: users.n])
        per_day = dyn.post_rate + dyn.post_gain * np.log1p(users.audience[producers])
        posts = rng.poisson(per_day / 24 * DIURNAL[hour])
        creators = np.repeat(producers, posts)
        self._post(events, creators, t0 + rng.integers(0, HOUR_US, size=creators.size))
        users.boredom[: users.n] *= np.float32(0.5 ** (1.0 / self.cfg.behaviour.boredom_half_life_hours))

    def _ask(self, policy: Policy, who: np.ndarray, t0: int, events: EventLog) -> tuple[np.ndarray, int]:
        k = self.cfg.behaviour.slate_size
        request = RecommendationBatchRequest(user_ids=who.tolist(), k=k, ts=self.ts(t0))
        response = policy.recommend(request)
        if len(response.request_ids) != who.size:
            raise PolicyError(f"{policy.name} answered {len(response.request_ids)} of {who.size} requests")
        lengths = np.fromiter((len(row) for row in response.item_ids), dtype=np.int64, count=who.size)
        if (lengths == k).all():
            slates = np.array(response.item_ids, dtype=np.int64).reshape(who.size, k)
        else:
            slates = np.full((who.size, k), EMPTY, dtype=np.int64)
            for i, row in enumerate(response.item_ids):
                slates[i, : min(len(row), k)] = row[:k]
        given = np.arange(k)[None, :] < lengths[:, None]
        negative = given & (slates < 0)
        slates[negative] = EMPTY
        # Ids beyond k, and negative ids, are never shown: they count against the policy.
        self.stats.invalid_items += int(np.maximum(lengths - k, 0).sum()) + int(negative.sum())
        base = events.requests(response.request_ids, response.arms, response.model_versions)
        return slates, base

    def _screen(self, slates: np.ndarray, clock: np.ndarray) -> np.ndarray:
        """Drop what cannot be shown: unknown ids, items not yet created, repeats within a slate."""
        items = self.items
        known = (slates >= 0) & (slates < items.n)
        safe = np.where(known, slates, 0)
        ok = known & (items.created_us[safe] <= clock[:, None])
        k = slates.shape[1]
        earlier = np.tril(np.ones((k, k), dtype=bool), -1)
        repeat = ((slates[:, :, None] == slates[:, None, :]) & earlier).any(axis=2)
        ok &= ~repeat
        self.stats.invalid_items += int(((slates != EMPTY) & ~ok).sum())
        return np.where(ok, slates, EMPTY)

    def _sessions(self, policy: Policy, who: np.ndarray, start: np.ndarray, t0: int, events: EventLog) -> None:
        """All sessions of an hour, one slate per round until each user stops."""
        beh, dyn, rng = self.cfg.behaviour, self.cfg.dynamics, self.rng
        users, items = self.users, self.items
        clock = start.astype(np.int64)
        active = np.arange(who.size)
        for r in range(beh.max_slates):
            if active.size == 0:
                break
            u = who[active]
            slates, base = self._ask(policy, u, t0, events)
            slates = self._screen(slates, clock[active])
            valid = slates != EMPTY
            now = clock[active]
            appeal = behaviour.appeal(beh, users, items, self.follows, u, slates, now[:, None])
            similarity = behaviour.slate_similarity(items, slates)
            pick = behaviour.choose(beh, appeal.utility, similarity, valid, np.full(u.size, r), rng)

            rows, cols = np.nonzero(valid)
            shown = slates[rows, cols]
            events.add(EventType.IMPRESSION, now[rows] + cols * 300_000, u[rows], shown, base + rows, cols)
            items.impressions[: items.n] += np.bincount(shown, minlength=items.n)
            push_rows(users.seen, users.seen_cursor, u, slates)

            value = np.full(u.size, dyn.no_click_value, dtype=np.float64)
            spent = np.full(u.size, int(beh.slate_seconds * US), dtype=np.int64)
            c = np.flatnonzero(pick >= 0)
            if c.size:
                value[c], spent[c] = self._click(
                    u[c], slates[c, pick[c]], appeal.value[c, pick[c]], now[c], pick[c], base + c, events
                )
            self.stats.slates += u.size
            target = behaviour.sigmoid(dyn.value_gain * value)
            sat = users.satisfaction[u]
            sat += dyn.satisfaction_step * (target - sat)
            users.satisfaction[u] = sat
            clock[active] = now + spent
            go_on = behaviour.sigmoid(
                beh.continue_bias
                + beh.continue_value * value
                + beh.continue_satisfaction * (sat - 0.5)
                - beh.continue_per_slate * r
            )
            active = active[rng.random(active.size) < go_on]
        users.last_us[who] = np.maximum(users.last_us[who], clock)

    def _click(
        self,
        u: np.ndarray,
        item: np.ndarray,
        value: np.ndarray,
        now: np.ndarray,
        position: np.ndarray,
        request: np.ndarray,
        events: EventLog,
    ) -> tuple[np.ndarray, np.ndarray]:
        """A click and what follows it; returns the clicks' values and the time they took."""
        beh, dyn, rng = self.cfg.behaviour, self.cfg.dynamics, self.rng
        users, items = self.users, self.items
        v = value.astype(np.float64)
        at = now + position * 300_000 + 2 * US
        dwell_ms = beh.dwell_seconds * 1000 * np.exp(0.7 * v + rng.normal(0, 0.5, size=v.size))
        dwell_ms = dwell_ms.clip(1000, 3_600_000).astype(np.int64)
        after = at + dwell_ms * 1000
        events.add(EventType.CLICK, at, u, item, request, position)
        events.add(EventType.DWELL, after, u, item, request, position, dwell_ms)
        like = rng.random(v.size) < behaviour.sigmoid(beh.like_base + v)
        share = rng.random(v.size) < behaviour.sigmoid(beh.share_base + v)
        creator = items.creator[item]
        fresh = ~self.follows.contains(u, creator) & (creator != u)
        follow = fresh & (rng.random(v.size) < behaviour.sigmoid(beh.follow_base + v))
        events.add(EventType.LIKE, after[like] + US, u[like], item[like], request[like], position[like])
        events.add(EventType.SHARE, after[share] + 2 * US, u[share], item[share], request[share], position[share])
        events.add(EventType.FOLLOW, after[follow] + 3 * US, u[follow], item[follow])
        self.follows.add(u[follow], creator[follow])
        self.follows.commit()

        items.clicks[: items.n] += np.bincount(item, minlength=items.n)
        push_rows(users.clicked, users.clicked_cursor, u, item[:, None])
        mix = items.mix[item]
        users.boredom[u] += mix
        users.interests[u] = (1.0 - dyn.drift) * users.interests[u] + dyn.drift * mix
        users.engagement[u] += 1.0 + like + share
        np.add.at(users.value_today, u, v.astype(np.float32))
        np.add.at(users.clicks_received, creator, 1.0)
        self.stats.shares += int(share.sum())
        self.stats.value += float(v.sum())
        return v, (after - now) + 4 * US

    # -- the day's end ---------------------------------------------------------
    def end_day(self, events: EventLog) -> None:
        """Churn, creators' response to their audience, conversions; then the next day begins."""
        users, dyn, rng = self.users, self.cfg.dynamics, self.rng
        n = users.n
        day_end = self.start_us + (self.day + 1) * DAY_US
        alive = users.alive[:n]
        sat = users.satisfaction[:n]
        low = alive & (sat < dyn.churn_threshold)
        users.low_days[:n] = np.where(low, users.low_days[:n] + 1, 0)
        risk = dyn.churn_rate * (dyn.churn_threshold - sat) / max(dyn.churn_threshold, 1e-9)
        churn = np.flatnonzero(low & (users.low_days[:n] >= 2) & (rng.random(n) < risk))
        users.alive[churn] = False
        events.add(EventType.CHURN, np.maximum(day_end - 1, users.last_us[churn] + 1), churn)

        producer = users.producer[:n] & users.alive[:n]
        got = users.clicks_received[:n]
        self.stats.producers = int(producer.sum())
        self.stats.producers_clicked = int((producer & (got > 0)).sum())
        users.audience[:n] = dyn.engagement_decay * users.audience[:n] + got
        users.idle_days[:n] = np.where(producer & (got == 0), users.idle_days[:n] + 1, 0)
        quit_ = producer & (users.idle_days[:n] >= dyn.creator_quit_days)
        users.producer[:n] &= ~quit_
        self.stats.quits = int(quit_.sum())

        engaged = alive & ~producer & (users.engagement[:n] >= dyn.conversion_engagement)
        convert = np.flatnonzero(engaged & (rng.random(n) < dyn.conversion_p))
        self.genesis.make_producers(users, convert)
        self.stats.conversions = int(convert.size)
        users.engagement[:n] = 0
        users.clicks_received[:n] = 0
        self.day += 1

    def reset_stats(self) -> DayStats:
        """The day's counters, and fresh ones for the next day."""
        stats, self.stats = self.stats, DayStats()
        n = self.users.n
        stats.value_by_user = self.users.value_today[:n].copy()
        self.users.value_today[:n] = 0
        return stats
