"""What a run measures while its events stream past: each day's metrics and score, overall and per arm.

The world knows which arm served each request only from the ``arm`` its policy echoed in the
events. Per arm and day, over the users the arm served that day (``dau``; ``share`` of all the
users an arm served):

- ``ctr``, ``value_per_active_user`` and ``mean_satisfaction`` (at the day's end) of those users;
- ``creator_health``: producers their clicks reached, over the producers the arm's share of
  users would reach (so a half-traffic arm is not judged against the whole world's creators);
- ``reach``: the world's, the same for every arm: who shows up on a day was decided by earlier
  days, before that day's arms served anyone, so it cannot be split between them;
- ``score``: the day's score from these four, and ``return_rate``: of the users the arm served
  the day before, the share active again today (the arm's effect on coming back).

A single-policy run has one arm (the policy's name) measured the same way, so a platform's arms
compare with the reference policies' (not with their whole-world score, which counts every
user's satisfaction, not only today's active users').
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
        for name in pc.unique(shown["arm"]).to_pylist():
            if name not in self.arms:
                self.arms.append(name)
        if not self.arms:
            return []
        who = shown["user_id"].to_numpy()
        codes = pc.index_in(shown["arm"], value_set=pa.array(self.arms, pa.string())).to_numpy(zero_copy_only=False)
        came = np.unique(table.filter(pc.equal(table["type"], EventType.IMPRESSION.value))["user_id"].to_numpy())
        clicks = table.filter(pc.and_(pc.equal(table["type"], EventType.CLICK.value), pc.is_valid(table["arm"])))
        value_by_user = stats.value_by_user if stats.value_by_user is not None else np.zeros(n)
        alive = users.alive[:n]
        reach = came.size / n if n else 0.0  # who shows up today was decided before today's arms: the world's
        armed = max(np.unique(who).size, 1)
        rows = []
        for code, arm in enumerate(self.arms):
            served = np.unique(who[codes == code])
            before = self.served_yesterday.get(arm)
            self.served_yesterday[arm] = served
            dau = int(served.size)
            if dau == 0:
                continue
            share = dau / armed
            arm_clicks = clicks.filter(pc.equal(clicks["arm"], arm))
            impressions = int(np.count_nonzero(codes == code))
            creators = np.unique(items.creator[arm_clicks["item_id"].to_numpy()]) if len(arm_clicks) else served[:0]
            producing = int((users.producer[creators] & alive[creators]).sum()) if creators.size else 0
            value = float(value_by_user[served].sum()) / dau
            satisfaction = float(users.satisfaction[served].mean())
            health = min(producing / (stats.producers * share), 1.0) if stats.producers else 0.0
            returned = float(np.isin(before, came).mean()) if before is not None and before.size else None
            versions = sorted(set(shown.filter(pc.equal(shown["arm"], arm))["model_version"].drop_null().to_pylist()))
            rows.append(
                {
                    "day": day,
                    "date": world.date_of(day).isoformat(),
                    "arm": arm,
                    "model_versions": ",".join(versions),
                    "dau": dau,
                    "share": share,
                    "impressions": impressions,
                    "clicks": len(arm_clicks),
                    "ctr": metrics.ctr(impressions, len(arm_clicks)),
                    "reach": reach,
                    "value_per_active_user": value,
                    "mean_satisfaction": satisfaction,
                    "creator_health": health,
                    "return_rate": returned,
                    "score": day_score(reach, value, satisfaction, health),
                }
            )
        return rows

    def arm_frame(self) -> pd.DataFrame:
        """One row per day and arm (empty when no event named an arm)."""
        return pd.DataFrame(self.arm_rows)
