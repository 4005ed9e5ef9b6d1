"""What a run measures while its events stream past: each day's metrics and score, overall and per arm.

The world knows which arm served each request only from the ``arm`` its policy echoed in the
events. A user belongs to the arm of the latest slate they were shown, from day to day, so that
users who stay away still count against the arm that served them last. Per arm and day:

- ``users``: alive users who belong to the arm at the day's end; ``dau``: those active that day;
- ``reach`` = dau / users, ``ctr``, ``value_per_active_user``, ``mean_satisfaction`` (of its users),
  ``creator_health`` (share of producers its users clicked), and the day's ``score`` from them;
- ``return_rate``: of the users the arm served the day before, the share active again today.

A single-policy run has one arm (the policy's name), so its arm figures sit beside the whole
world's, measured the same way: that is how a platform's arms compare with reference policies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from simnet import metrics
from simnet.protocol import EventType
from simnet.score import day_score
from simnet.world import DayStats, World

NO_ARM = -1


class Tally:
    """Per-day and whole-run aggregates gathered while the events stream past."""

    def __init__(self, slate_size: int) -> None:
        self.rows: list[dict[str, object]] = []
        self.arm_rows: list[dict[str, object]] = []
        self.signups: list[pd.DataFrame] = []
        self.activity: list[pd.DataFrame] = []
        self.impressions_at = np.zeros(slate_size, dtype=np.int64)
        self.clicks_at = np.zeros(slate_size, dtype=np.int64)
        self.events = 0
        self.arms: list[str] = []  # arm names in order of first appearance; codes index this list
        self.user_arm = np.full(0, NO_ARM, dtype=np.int32)  # each user's arm (code), by user id
        self.served_yesterday: dict[str, np.ndarray] = {}  # arm -> users it served the day before

    def day(self, world: World, day: int, table: pa.Table) -> dict[str, object]:
        """Reduce one day's events (and the world's counters) to the day's row; returns it."""
        stats = world.reset_stats()
        users = world.users
        n = users.n
        m = metrics.day_metrics(table, catalog_size=world.items.n)
        kind = table["type"]
        for what, into in ((EventType.IMPRESSION, self.impressions_at), (EventType.CLICK, self.clicks_at)):
            pos = table.filter(pc.equal(kind, what.value))["position"].to_numpy()
            into += np.bincount(pos, minlength=into.size)[: into.size]
        active = np.unique(table.filter(pc.equal(kind, EventType.IMPRESSION.value))["user_id"].to_numpy())
        joined = table.filter(pc.equal(kind, EventType.SIGNUP.value))["user_id"].to_numpy()
        self.activity.append(pd.DataFrame({"user_id": active, "day": day}))
        self.signups.append(pd.DataFrame({"user_id": joined, "day": day}))
        alive = users.alive[:n]
        dau = int(m["dau"])
        value = stats.value / dau if dau else 0.0
        health = stats.producers_clicked / stats.producers if stats.producers else 0.0
        satisfaction = float(users.satisfaction[:n][alive].mean()) if alive.any() else 0.0
        row: dict[str, object] = {
            "day": day,
            "date": world.date_of(day).isoformat(),
            **m,
            "sessions": stats.sessions,
            "slates_per_session": stats.slates / stats.sessions if stats.sessions else 0.0,
            "conversions": stats.conversions,
            "creator_quits": stats.quits,
            "invalid_items": stats.invalid_items,
            "alive_users": int(alive.sum()),
            "reach": dau / n,
            "value_per_active_user": value,
            "creator_health": health,
            "mean_satisfaction": satisfaction,
            "score": day_score(dau / n, value, satisfaction, health),
        }
        self.rows.append(row)
        self.arm_rows.extend(self._arms_of_day(world, day, table, stats))
        self.events += len(table)
        return row

    def _arms_of_day(self, world: World, day: int, table: pa.Table, stats: DayStats) -> list[dict[str, object]]:
        users, items = world.users, world.items
        n = users.n
        shown = table.filter(pc.and_(pc.equal(table["type"], EventType.IMPRESSION.value), pc.is_valid(table["arm"])))
        if len(shown) == 0 and not self.arms:
            return []
        grown = np.full(n, NO_ARM, dtype=np.int32)
        grown[: self.user_arm.size] = self.user_arm
        self.user_arm = grown
        # the arm of each user's latest impression today (events are in time order)
        who = shown["user_id"].to_numpy()
        for name in pc.unique(shown["arm"]).to_pylist():
            if name not in self.arms:
                self.arms.append(name)
        codes = pc.index_in(shown["arm"], value_set=pa.array(self.arms, pa.string())).to_numpy(zero_copy_only=False)
        last = np.unique(who[::-1], return_index=True)[1]
        latest_users, latest_codes = who[::-1][last], codes[::-1][last]
        self.user_arm[latest_users] = latest_codes

        came = np.unique(table.filter(pc.equal(table["type"], EventType.IMPRESSION.value))["user_id"].to_numpy())
        clicks = table.filter(pc.and_(pc.equal(table["type"], EventType.CLICK.value), pc.is_valid(table["arm"])))
        value_by_user = stats.value_by_user if stats.value_by_user is not None else np.zeros(n)
        alive = users.alive[:n]
        rows = []
        for code, arm in enumerate(self.arms):
            served = np.unique(who[codes == code])
            members = (self.user_arm == code) & alive
            arm_clicks = clicks.filter(pc.equal(clicks["arm"], arm))
            impressions = int(np.count_nonzero(codes == code))
            creators = np.unique(items.creator[arm_clicks["item_id"].to_numpy()]) if len(arm_clicks) else served[:0]
            producing = users.producer[creators] & alive[creators] if creators.size else creators.astype(bool)
            dau = int(served.size)
            before = self.served_yesterday.get(arm)
            self.served_yesterday[arm] = served
            if dau == 0:
                continue
            population = int(members.sum())
            reach = dau / population if population else 0.0
            value = float(value_by_user[served].sum()) / dau if dau else 0.0
            satisfaction = float(users.satisfaction[:n][members].mean()) if population else 0.0
            health = int(producing.sum()) / stats.producers if stats.producers else 0.0
            returned = float(np.isin(before, came).mean()) if before is not None and before.size else None
            versions = sorted(set(shown.filter(pc.equal(shown["arm"], arm))["model_version"].drop_null().to_pylist()))
            rows.append(
                {
                    "day": day,
                    "date": world.date_of(day).isoformat(),
                    "arm": arm,
                    "model_versions": ",".join(versions),
                    "users": population,
                    "dau": dau,
                    "impressions": impressions,
                    "clicks": len(arm_clicks),
                    "ctr": metrics.ctr(impressions, len(arm_clicks)),
                    "reach": min(reach, 1.0),
                    "value_per_active_user": value,
                    "mean_satisfaction": satisfaction,
                    "creator_health": min(health, 1.0),
                    "return_rate": returned,
                    "score": day_score(min(reach, 1.0), value, satisfaction, min(health, 1.0)),
                }
            )
        return rows

    def arm_frame(self) -> pd.DataFrame:
        """One row per day and arm (empty when no event named an arm)."""
        return pd.DataFrame(self.arm_rows)
