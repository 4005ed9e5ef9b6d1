"""The closed loop: SimNet lives each day against the local platform, and the platform learns each night.

:func:`up` starts (or resumes) a run. For each day:

1. the day's experiment is set from the registry's aliases: popularity while there is no model,
   the champion alone, or champion (``control``) against challenger (``treatment``), 50/50, as
   a new experiment named after the day (so users are reshuffled);
2. SimNet lives the day, asking the platform for every feed and sending it every event; at the
   day's end the platform's flush barrier says the day is durable in the lake;
3. the night: the ``promote`` pipeline judges the day's challenger on the experiment's outcome,
   then the ``daily`` pipeline trains, evaluates and registers the next challenger (the first
   model to pass offline becomes the champion). A failed night leaves the champion serving.

SimNet's popularity and oracle policies live the same days with the same seed beside it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from components.etl.connect import ConnectServer
from components.registry.decision import model_version_label
from components.registry.experiments import POPULARITY_MODEL, ArmConfig, ExperimentConfig
from components.registry.registry import CHALLENGER, CHAMPION, DEFAULT_MODEL_NAME, Registry, RegistryError
from simnet.config import WorldConfig
from simnet.remote import PlatformOptions, PlatformSink, RemotePolicy
from simnet.simulation import CHECKPOINT, Simulation, new_tag
from simnet.spec import RunSpec
from tinyworld.loop.monitor import Monitor, monitoring, prometheus_binary
from tinyworld.loop.nights import run_night
from tinyworld.loop.peers import finish_peers, start_peers, stop_peers
from tinyworld.loop.platform import LocalPlatform
from tinyworld.loop.state import DayRecord, RunFolder, RunState, UpOptions
from tinyworld.settings import Settings

log = logging.getLogger(__name__)

CONTROL, TREATMENT = "control", "treatment"


def arms_for(registry: Registry, model_name: str, day: date) -> tuple[ExperimentConfig, dict[str, str]]:
    """The day's experiment from the registry's aliases, and the version label each arm will serve."""
    try:
        aliases = registry.aliases(model_name)
    except RegistryError:
        aliases = {}

    def label(alias: str) -> str:
        return model_version_label(model_name, aliases[alias])

    arms: tuple[ArmConfig, ...]
    if CHAMPION in aliases and CHALLENGER in aliases:
        arms = (ArmConfig(name=CONTROL, model=CHAMPION), ArmConfig(name=TREATMENT, model=CHALLENGER))
        serving = {CONTROL: label(CHAMPION), TREATMENT: label(CHALLENGER)}
    elif CHAMPION in aliases:
        arms, serving = (ArmConfig(name=CONTROL, model=CHAMPION),), {CONTROL: label(CHAMPION)}
    elif CHALLENGER in aliases:  # a model but no champion yet: it meets popularity online
        arms = (ArmConfig(name=CONTROL, model=POPULARITY_MODEL), ArmConfig(name=TREATMENT, model=CHALLENGER))
        serving = {CONTROL: POPULARITY_MODEL, TREATMENT: label(CHALLENGER)}
    else:
        arms, serving = (ArmConfig(name=CONTROL, model=POPULARITY_MODEL),), {CONTROL: POPULARITY_MODEL}
    return ExperimentConfig(name=f"day-{day.isoformat()}", arms=arms), serving


@contextmanager
def _output_to(log_file: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (and its children's) to ``log_file`` for a while."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(1), os.dup(2)
    with log_file.open("ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _terminal() -> Console:
    """A console on the terminal's stderr that keeps working while fds 1 and 2 go to a log file."""
    return Console(file=os.fdopen(os.dup(2), "w", buffering=1), stderr=True)


def up(options: UpOptions, runs_root: Path, *, resume: str | None = None, progress: bool = True) -> RunState:
    """Run (or resume) the loop; returns its state. The report is written under the run's folder."""
    from tinyworld.loop.report import write_report

    folder = RunFolder(runs_root, resume or RunFolder.new_id(options))
    if resume:
        state = folder.load()
        options = state.options
    else:
        state = RunState(run_id=folder.run_id, options=options)
        folder.save(state)
    if options.monitor:
        prometheus_binary()  # name what is missing before anything starts
    os.environ.update(folder.environment())
    os.environ.setdefault("TINYWORLD_LOG_LEVEL", "WARNING")
    settings = Settings.from_environment("local")
    registry = Registry(settings.registry_root)
    started = time.perf_counter()
    console = _terminal()
    peers = []
    try:
        if options.peers:
            peers = start_peers(folder.path("peers"), options.users, options.days, options.seed, options.world_config)
        with (
            _progress(console, progress) as bar,
            _warm_spark(folder, options.warm_spark),
            LocalPlatform(
                folder.environment(),
                options.port or settings.serve_port,
                folder.path("logs", "platform.log"),
                ray=options.ray,
            ) as platform,
            monitoring(state, folder, platform.url) as monitor,
        ):
            state.setup_seconds.setdefault("platform_start", round(time.perf_counter() - started, 1))
            world = _world(folder, options, platform.url)
            days = bar.add_task("days", total=options.days, completed=world.day)
            hours = bar.add_task("hours", total=24)
            for night in _pending_nights(state, world):
                _night(state, folder, settings, night, options, bar, monitor)
            while not world.done:
                record = _live_day(world, registry, platform, lambda h: bar.update(hours, completed=h + 1))
                state.days = [*[d for d in state.days if d.day != record.day], record]
                folder.save(state)
                bar.update(days, completed=world.day)
                _night(state, folder, settings, _day_date(world, record.day), options, bar, monitor)
            world.close()
            _close_world(world)
        finish_peers(peers)
    finally:
        stop_peers(peers)
        state.seconds += time.perf_counter() - started
        folder.save(state)
    write_report(state, folder)
    return state


@contextmanager
def _warm_spark(folder: RunFolder, enabled: bool) -> Iterator[None]:
    """A Spark Connect server for the run's ETL (its master exported to the pipelines' tasks)."""
    if not enabled:
        yield
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with ConnectServer(log_path=folder.path("logs", "spark-connect.log"), port=port) as server:
        previous = os.environ.get("TINYWORLD_SPARK_MASTER")
        os.environ["TINYWORLD_SPARK_MASTER"] = server.url
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("TINYWORLD_SPARK_MASTER", None)
            else:
                os.environ["TINYWORLD_SPARK_MASTER"] = previous


@contextmanager
def _progress(console: Console, enabled: bool) -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not enabled, transient=False) as bar:
        yield bar


def _world(folder: RunFolder, options: UpOptions, url: str) -> Simulation:
    """The run's world: resumed from its checkpoint, or new."""
    platform = PlatformOptions(url=url, batch_users=options.batch_users)
    policy, sink = RemotePolicy(platform), PlatformSink(platform)
    state_dir = folder.path("world")
    if (state_dir / CHECKPOINT).is_file():
        return Simulation.resume(state_dir, policy, sink)
    config = WorldConfig.load(options.world_config).with_users(options.users)
    spec = RunSpec(config, "platform", options.days, options.seed, tag=new_tag())
    return Simulation(spec, policy, sink, state_dir=state_dir)


def _close_world(world: Simulation) -> None:
    if isinstance(world.sink, PlatformSink):
        world.sink.close()


def _day_date(world: Simulation, day: int) -> date:
    """The date of 1-based ``day``."""
    return world.world.date_of(day - 1)


def _pending_nights(state: RunState, world: Simulation) -> list[date]:
    """Days lived whose night did not complete (a run stopped between a day and its night)."""
    done = {n.day for n in state.nights}
    return [_day_date(world, d) for d in range(1, world.day + 1) if _day_date(world, d) not in done]


def _live_day(
    world: Simulation, registry: Registry, platform: LocalPlatform, on_hour: Callable[[int], None]
) -> DayRecord:
    """Set the day's experiment, live the day, and say what it measured."""
    day = world.day + 1
    when = _day_date(world, day)
    experiment, serving = arms_for(registry, DEFAULT_MODEL_NAME, when)
    midnight = datetime(when.year, when.month, when.day, tzinfo=UTC)
    platform.set_experiment(experiment, reason=f"the loop's experiment for day {day} ({when})", at=midnight)
    platform.wait_for(serving)
    policy, sink = world.policy, world.sink
    assert isinstance(policy, RemotePolicy) and isinstance(sink, PlatformSink)
    before = policy.seconds, sink.seconds
    started = time.perf_counter()
    row = world.live_day(on_hour)
    wall = time.perf_counter() - started
    served = policy.seconds - before[0]
    arms = world.tally.arm_frame()
    today = arms[arms["day"] == day - 1] if not arms.empty else arms
    return DayRecord(
        day=day,
        date=when.isoformat(),
        experiment=experiment.name,
        arms=serving,
        world={k: v for k, v in row.items() if isinstance(v, int | float | str) or v is None},
        by_arm=today.to_dict("records"),
        seconds={
            "day": round(wall, 2),
            "world": round(wall - served, 2),
            "serving": round(served, 2),
            "delivery": round(sink.seconds - before[1], 2),
        },
    )


def _night(
    state: RunState,
    folder: RunFolder,
    settings: Settings,
    day: date,
    options: UpOptions,
    bar: Progress,
    monitor: Monitor | None = None,
) -> None:
    """Run the night after ``day`` and record it."""
    lived = [d for d in state.days if d.date == day.isoformat()]
    experiment = bool(lived) and TREATMENT in lived[0].arms
    first_day = date.fromisoformat(state.days[0].date) if state.days else day
    history = max(2, min(options.nightly.history_days, (day - first_day).days + 1))
    split_by = "temporal" if day == first_day else "date"
    nightly = options.nightly.model_copy(update={"history_days": history, "split_by": split_by})
    task = bar.add_task(f"night of {day}: pipelines", total=None)
    with _output_to(folder.path("logs", f"night-{day.isoformat()}.log")):
        night = run_night(settings, day, experiment=experiment, options=nightly)
    bar.remove_task(task)
    state.nights = [*[n for n in state.nights if n.day != day], night]
    folder.save(state)
    if monitor is not None:
        monitor.record(night, settings, experiment=experiment)
    if night.failure:
        log.warning("night of %s: %s", day, night.failure)
