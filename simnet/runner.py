"""Running a world under a reference policy for some days, and what a run reports.

``simulate`` lives the days of a :class:`~simnet.simulation.Simulation` in one call, optionally
writing the events to a lake; ``run_report`` reduces any simulation's tally (whole or so far) to
the report: daily metrics and score, per-arm figures, retention, and the calibration targets of
docs/simnet.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from simnet import retention
from simnet.calibration import calibrate
from simnet.metrics import ctr
from simnet.remote import PlatformOptions, PlatformSink, RemotePolicy
from simnet.report import RunReport
from simnet.simulation import CHECKPOINT, LakeSink, Simulation
from simnet.spec import RunSpec
from simnet.tally import Tally
from simnet.world import World

__all__ = ["OutputError", "RunSpec", "Summary", "prepare_output", "run_report", "simulate", "simulate_remote"]

log = logging.getLogger(__name__)


Summary = dict[str, float | int | str | None]


class OutputError(RuntimeError):
    """The output folder cannot be written."""


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
def day_progress(enabled: bool, days: int, users: int, label: str = "simulating") -> Iterator[Callable[[int], None]]:
    """A progress bar over the hours of ``days`` days; yields the callback that advances it an hour."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not enabled, transient=True) as bar:
        task = bar.add_task(f"{label} {days} day(s) of {users:,} users", total=days * 24)
        yield lambda _hour: bar.advance(task)


def simulate(
    spec: RunSpec,
    out: Path | None = None,
    progress: bool = True,
    *,
    lake: str | None = None,
    lake_filesystem: pafs.FileSystem | None = None,
    events: bool = True,
) -> tuple[RunReport, Summary]:
    """Run the world under a reference policy; returns the report and the headline summary.

    The events go to ``lake`` (a path or a URL pyarrow understands, or a path on
    ``lake_filesystem``), by default ``<out>/events``; with neither, or ``events`` False,
    nowhere. The report is also written under ``out``.
    """
    if out:
        prepare_output(out)
    lake = (lake or (str(out / "events") if out else None)) if events else None
    sink = LakeSink(lake, lake_filesystem) if lake else None
    sim = Simulation(spec, sink=sink)
    with day_progress(progress, spec.days, spec.config.population.users) as advance:
        while not sim.done:
            sim.live_day(advance)
    report = run_report(sim)
    if out:
        from simnet.report import write_report

        write_report(report, out)
    return report, report.summary


def simulate_remote(
    spec: RunSpec,
    platform: PlatformOptions,
    state_dir: Path,
    out: Path | None = None,
    progress: bool = True,
    *,
    resume: bool = False,
) -> tuple[RunReport, Summary]:
    """Run the world served by a platform over HTTP (see :mod:`simnet.remote`), a day at a time.

    The run is checkpointed in ``state_dir`` after each day; ``resume`` continues the run found
    there (``spec`` is then taken from the checkpoint) instead of starting a new one.
    """
    if out:
        prepare_output(out)
    policy, sink = RemotePolicy(platform), PlatformSink(platform)
    if resume:
        sim = Simulation.resume(state_dir, policy, sink)
    else:
        if (state_dir / CHECKPOINT).exists():
            raise OutputError(f"{state_dir} holds a run already: resume it, or choose another state folder")
        sim = Simulation(spec, policy, sink, state_dir=state_dir)
    try:
        users = sim.spec.config.population.users
        with day_progress(progress, sim.spec.days - sim.day, users, "living") as advance:
            while not sim.done:
                sim.live_day(advance)
    finally:
        sim.close()
        sink.close()
    report = run_report(sim)
    if out:
        from simnet.report import write_report

        write_report(report, out)
    return report, report.summary


def run_report(sim: Simulation) -> RunReport:
    """The report of a run (whole or so far), from the simulation's tally."""
    return _report(sim.spec, sim.world, sim.tally, sim.seconds, days=sim.day)


def _report(spec: RunSpec, world: World, tally: Tally, seconds: float, days: int) -> RunReport:
    daily = pd.DataFrame(tally.rows)
    last = days - 1
    signups = pd.concat(tally.signups, ignore_index=True)
    activity = pd.concat(tally.activity, ignore_index=True)
    cohorts = retention.retention_table(signups, activity, last_day=last)
    impressions = int(daily["impressions"].sum())
    clicks = int(daily["clicks"].sum())
    summary: Summary = {
        "policy": spec.policy,
        "seed": spec.seed,
        "users": spec.config.population.users,
        "days": days,
        "events": tally.events,
        "seconds": round(seconds, 3),
        "events_per_s": round(tally.events / seconds, 1),
        "score": float(daily["score"].mean()),
        "ctr": ctr(impressions, clicks),
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
    if days >= 2:
        summary["retention_d1"] = retention.overall_retention(cohorts, 1)
    if days >= 8:
        summary["retention_d7"] = retention.overall_retention(cohorts, 7)
    items, users = world.items, world.users
    item_clicks = items.clicks[: items.n].copy()
    user_sessions = users.sessions[: users.n].copy()
    ctr_at = tally.clicks_at / np.maximum(tally.impressions_at, 1)
    calibration = calibrate(spec, summary, daily, item_clicks, user_sessions, ctr_at)
    return RunReport(
        title=f"SimNet: {spec.policy}, {users.n:,} users, {days} day(s), seed {spec.seed}",
        summary=summary,
        daily=daily,
        retention=cohorts,
        retention_curve=retention.retention_curve(signups, activity, cohort=0, last_day=last),
        calibration=calibration,
        item_clicks=item_clicks,
        user_sessions=user_sessions,
        ctr_by_position=ctr_at,
        config=spec.config.model_dump(),
        arms=tally.arm_frame(),
    )
