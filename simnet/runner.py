"""Running a world under a policy for some days, and what the run reports.

``simulate`` drives the hour-by-hour loop, feeds each hour's events back to
the policy, optionally writes them to a lake, and reduces every day to the
metrics and the score. ``calibrate`` sets the run beside the targets of
docs/simnet.md.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from simnet import metrics, retention
from simnet.calibration import calibrate
from simnet.config import WorldConfig
from simnet.events import EventLog
from simnet.lake import write_partitioned
from simnet.policies import make_policy
from simnet.protocol import EventType
from simnet.report import RunReport
from simnet.score import day_score
from simnet.world import Policy, World

log = logging.getLogger(__name__)


Summary = dict[str, float | int | str | None]


class OutputError(RuntimeError):
    """The output folder cannot be written."""


@dataclass(frozen=True)
class RunSpec:
    """What to simulate."""

    config: WorldConfig
    policy: str
    days: int
    seed: int

    @property
    def run_id(self) -> str:
        """Names the run's events: the same world, policy and seed give the same ids."""
        world = hashlib.sha256(self.config.model_dump_json().encode()).hexdigest()[:8]
        return f"{world}-s{self.seed}-{self.policy}"


def prepare_output(out: Path) -> Path:
    """Create ``out`` and prove it writable, or fail with a message that says what to do."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise OutputError(f"cannot write to {out}: {err.strerror or err}; choose another --out") from err
    return out


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not enabled, transient=True) as bar:
        yield bar


class _Tally:
    """Per-day and whole-run aggregates gathered while the events stream past."""

    def __init__(self, slate_size: int) -> None:
        self.rows: list[dict[str, object]] = []
        self.signups: list[pd.DataFrame] = []
        self.activity: list[pd.DataFrame] = []
        self.impressions_at = np.zeros(slate_size, dtype=np.int64)
        self.clicks_at = np.zeros(slate_size, dtype=np.int64)
        self.events = 0

    def day(self, world: World, day: int, table: pa.Table) -> dict[str, object]:
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
        self.events += len(table)
        return row


def simulate(
    spec: RunSpec,
    out: Path | None = None,
    progress: bool = True,
    *,
    lake: str | None = None,
    lake_filesystem: pafs.FileSystem | None = None,
) -> tuple[RunReport, Summary]:
    """Run the world; returns the report and the headline summary (also written under ``out``).

    The events go to ``lake`` (a path or a URL pyarrow understands, or a path on
    ``lake_filesystem``), by default ``<out>/events``; with neither, nowhere.
    """
    world = World(spec.config, spec.seed)
    policy: Policy = make_policy(spec.policy, world)
    if out:
        prepare_output(out)
    lake = lake or (str(out / "events") if out else None)
    tally = _Tally(spec.config.behaviour.slate_size)
    seq = 0
    started = time.perf_counter()
    with _progress(progress, spec.days * 24) as bar:
        task = bar.add_task(
            f"simulating {spec.days} day(s) of {spec.config.population.users:,} users", total=spec.days * 24
        )
        genesis = EventLog()
        world.begin(genesis)
        for day in range(spec.days):
            tables = []
            for hour in range(24):
                events = genesis if day == hour == 0 else EventLog()  # genesis goes out with the first hour
                world.hour(hour, policy, events)
                table = events.table(spec.run_id, seq)
                seq += len(table)
                policy.observe(table)
                if lake:
                    write_partitioned(table, lake, f"{spec.run_id}-{day:03d}{hour:02d}", lake_filesystem)
                tables.append(table)
                bar.advance(task)
            closing = EventLog()
            world.end_day(closing)
            table = closing.table(spec.run_id, seq)
            seq += len(table)
            policy.observe(table)
            if lake:
                write_partitioned(table, lake, f"{spec.run_id}-{day:03d}end", lake_filesystem)
            row = tally.day(world, day, pa.concat_tables([*tables, table]))
            log.info("day %s: %s events, score %.1f", day, row["events"], row["score"])
    seconds = time.perf_counter() - started
    report = _report(spec, world, tally, seconds)
    if out:
        from simnet.report import write_report

        write_report(report, out)
    return report, report.summary


def _report(spec: RunSpec, world: World, tally: _Tally, seconds: float) -> RunReport:
    daily = pd.DataFrame(tally.rows)
    last = spec.days - 1
    signups = pd.concat(tally.signups, ignore_index=True)
    activity = pd.concat(tally.activity, ignore_index=True)
    cohorts = retention.retention_table(signups, activity, last_day=last)
    impressions = int(daily["impressions"].sum())
    clicks = int(daily["clicks"].sum())
    summary: Summary = {
        "policy": spec.policy,
        "seed": spec.seed,
        "users": spec.config.population.users,
        "days": spec.days,
        "events": tally.events,
        "seconds": round(seconds, 3),
        "events_per_s": round(tally.events / seconds, 1),
        "score": float(daily["score"].mean()),
        "ctr": metrics.ctr(impressions, clicks),
        "dau": float(daily["dau"].mean()),
        "engagement_per_active_user": float(daily["engagement_per_active_user"].mean()),
        "slates_per_session": float(daily["slates"].sum() / max(int(daily["sessions"].sum()), 1)),
        "creators": float(daily["creators"].mean()),
        "conversions": int(daily["conversions"].sum()),
        "coverage": float(daily["coverage"].mean()),
        "exposure_gini": float(daily["exposure_gini"].mean()),
        "mean_satisfaction": float(daily["mean_satisfaction"].iloc[-1]),
        "alive_users": int(daily["alive_users"].iloc[-1]),
        "churned": int(daily["churns"].sum()),
    }
    if spec.days >= 2:
        summary["retention_d1"] = retention.overall_retention(cohorts, 1)
    if spec.days >= 8:
        summary["retention_d7"] = retention.overall_retention(cohorts, 7)
    items, users = world.items, world.users
    item_clicks = items.clicks[: items.n].copy()
    user_sessions = users.sessions[: users.n].copy()
    ctr_at = tally.clicks_at / np.maximum(tally.impressions_at, 1)
    calibration = calibrate(spec, summary, daily, item_clicks, user_sessions, ctr_at)
    return RunReport(
        title=f"SimNet: {spec.policy}, {users.n:,} users, {spec.days} day(s), seed {spec.seed}",
        summary=summary,
        daily=daily,
        retention=cohorts,
        retention_curve=retention.retention_curve(signups, activity, cohort=0, last_day=last),
        calibration=calibration,
        item_clicks=item_clicks,
        user_sessions=user_sessions,
        ctr_by_position=ctr_at,
        config=spec.config.model_dump(),
    )
