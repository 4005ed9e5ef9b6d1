"""The ``simnet`` command: run the world under a policy, or compare policies across seeds."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from simnet.calibration import calibrate_policies
from simnet.config import WorldConfig
from simnet.remote import PlatformError, PlatformOptions
from simnet.report import fmt, jsonable, write_comparison
from simnet.runner import OutputError, RunSpec, prepare_output, simulate, simulate_remote
from simnet.simulation import new_tag
from simnet.traffic import TrafficProgress, TrafficSpec, run_traffic
from simnet.traffic_users import SyntheticCrowd, WorldCrowd, replay

app = typer.Typer(
    help="SimNet: a simulated social network that drives and judges a recommender.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)


class PolicyName(StrEnum):
    random = "random"
    popularity = "popularity"
    oracle = "oracle"


class ArrivalsName(StrEnum):
    uniform = "uniform"
    poisson = "poisson"


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def _config(path: Path | None, users: int) -> WorldConfig:
    try:
        return WorldConfig.load(path).with_users(users)
    except FileNotFoundError as err:
        raise _fail(str(err)) from err
    except (ValidationError, ValueError) as err:
        raise _fail(f"invalid world configuration {path}: {err}") from err


def _show(title: str, values: Mapping[str, object]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in values.items():
        table.add_row(key, fmt(value))
    Console().print(table)


Users = Annotated[int, typer.Option(min=1, help="users at the start")]
Days = Annotated[int, typer.Option(min=1, help="simulated days")]
ConfigPath = Annotated[
    Path | None, typer.Option("--config", help="world configuration YAML (default: the calibrated world)")
]


@app.command()
def run(
    users: Users = 100_000,
    days: Days = 1,
    policy: Annotated[PolicyName, typer.Option(help="reference policy that serves the feeds")] = PolicyName.popularity,
    seed: Annotated[int, typer.Option(min=0, help="seed of the world; same seed, same run")] = 7,
    config: ConfigPath = None,
    out: Annotated[Path | None, typer.Option(help="folder for the events (lake layout) and the report")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object and nothing else")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar on stderr")] = True,
    platform: Annotated[
        str | None,
        typer.Option(help="base URL of a platform that serves the feeds and takes the events (instead of POLICY)"),
    ] = None,
    batch_users: Annotated[int, typer.Option(min=1, help="users per recommendation request to --platform")] = 1_000,
    state: Annotated[
        Path | None, typer.Option(help="folder of the run's checkpoints with --platform (default: <out>/state)")
    ] = None,
    resume: Annotated[bool, typer.Option(help="continue the run checkpointed in --state")] = False,
    events: Annotated[bool, typer.Option(help="write the events under --out (a policy run)")] = True,
) -> None:
    """Simulate DAYS days of USERS users under POLICY (or a --platform) and report the metrics and the score.

    With --platform the world asks the platform for every feed (batch POST /recommendations) and
    sends it the events (POST /events, Arrow IPC); it is checkpointed after each day and can
    --resume after a stop. Event ids carry a tag drawn per run, so runs of one seed never collide.
    """
    logging.basicConfig(level=logging.WARNING)
    policy_name = "platform" if platform else policy.value
    spec = RunSpec(config=_config(config, users), policy=policy_name, days=days, seed=seed, tag=new_tag())
    try:
        if platform:
            folder = state or (out / "state" if out else None)
            if folder is None:
                raise _fail("--platform needs --state or --out (the run is checkpointed there)")
            options = PlatformOptions(url=platform, batch_users=batch_users)
            report, summary = simulate_remote(
                spec, options, folder, out=out, progress=progress and not as_json, resume=resume
            )
        else:
            report, summary = simulate(spec, out=out, progress=progress and not as_json, events=events)
    except (OutputError, PlatformError, FileNotFoundError) as err:
        raise _fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(jsonable(summary)))
        return
    _show(report.title, summary)
    calibration = Table(title="calibration targets")
    for column in ("target", "expected", "measured", "ok"):
        calibration.add_column(column)
    for row in report.calibration.to_dict("records"):
        verdict = ("yes" if row["ok"] else "no") if isinstance(row["ok"], bool) else "-"
        calibration.add_row(str(row["target"]), str(row["expected"]), fmt(row["measured"]), verdict)
    Console().print(calibration)
    if out:
        lake = f"  events: {out / 'events'}" if events and not platform else ""
        Console().print(f"report: {out / 'report.html'}{lake}")


@app.command()
def compare(
    policies: Annotated[str, typer.Option(help="comma-separated policies")] = "random,popularity,oracle",
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "1,2,3",
    users: Users = 20_000,
    days: Days = 8,
    config: ConfigPath = None,
    out: Annotated[Path, typer.Option(help="folder for the comparison table and page")] = Path("runs/compare"),
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as one JSON object")] = False,
) -> None:
    """Run every policy on every seed and tabulate score, engagement and retention."""
    logging.basicConfig(level=logging.WARNING)
    names = [p.strip() for p in policies.split(",") if p.strip()]
    unknown = sorted(set(names) - {p.value for p in PolicyName})
    if unknown:
        raise _fail(f"unknown policy {', '.join(unknown)}; choose from {', '.join(p.value for p in PolicyName)}")
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        if not seed_list or min(seed_list) < 0:
            raise ValueError(seeds)
        prepare_output(out)
    except ValueError as err:
        raise _fail(f"--seeds must be comma-separated integers >= 0, got {seeds!r}") from err
    except OutputError as err:
        raise _fail(str(err)) from err
    world = _config(config, users)
    rows = []
    for seed in seed_list:
        for name in names:
            _, summary = simulate(RunSpec(world, name, days, seed), progress=not as_json)
            rows.append(summary)
            console.print(f"{name:>10} seed {seed}: score {summary['score']:.1f}, ctr {summary['ctr']:.4f}")
    table = pd.DataFrame(rows)
    calibration = calibrate_policies(table)
    write_comparison(table, out, f"SimNet policies: {users:,} users, {days} days, seeds {seeds}", calibration)
    if as_json:
        typer.echo(json.dumps({"rows": jsonable(rows)}))
    else:
        Console().print(f"comparison: {out / 'comparison.html'}")


@app.command()
def traffic(
    url: Annotated[str, typer.Option(help="base URL of the recommendation API (POST {url}/recommendations)")],
    rps: Annotated[float, typer.Option(min=0.001, help="target requests per second (open loop)")] = 50.0,
    duration: Annotated[float, typer.Option(min=0.001, help="measured seconds of arrivals")] = 60.0,
    warmup: Annotated[float, typer.Option(min=0, help="seconds of arrivals sent first, left out of the stats")] = 0.0,
    k: Annotated[int, typer.Option(min=1, max=100, help="items asked for per request")] = 10,
    timeout_ms: Annotated[float, typer.Option(min=1, help="a request unanswered this long is an error")] = 1000.0,
    events: Annotated[bool, typer.Option(help="send the users' reactions to POST {events-url}/events")] = True,
    events_url: Annotated[str | None, typer.Option(help="base URL of the ingest API (default: --url)")] = None,
    arrivals: Annotated[ArrivalsName, typer.Option(help="evenly spaced, or a seeded Poisson process")] = (
        ArrivalsName.uniform
    ),
    max_in_flight: Annotated[
        int, typer.Option(min=1, help="outstanding requests at most; arrivals beyond are errors (client_overflow)")
    ] = 256,
    users: Users = 100_000,
    days: Annotated[
        int, typer.Option(min=0, help="simulated days to replay first, as `simnet run --days` (items posted in them)")
    ] = 0,
    policy: Annotated[PolicyName, typer.Option(help="policy of the replayed days")] = PolicyName.popularity,
    seed: Annotated[int, typer.Option(min=0, help="seed of the world and of the traffic")] = 7,
    config: ConfigPath = None,
    synthetic: Annotated[
        bool, typer.Option(help="no world: uniform user ids below --users and a simple click model")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object and nothing else")] = False,
    progress: Annotated[bool, typer.Option(help="show the world build and the run's progress on stderr")] = True,
) -> None:
    """Send open-loop recommendation traffic from SimNet users to URL and report latency and errors.

    The world is `simnet run`'s (same --users, --config, --seed and, with --days, --policy), so
    item ids match a platform trained on that run's lake.
    """
    logging.basicConfig(level=logging.WARNING)
    world = None if synthetic else RunSpec(_config(config, users), policy.value, days, seed)
    try:
        spec = TrafficSpec(
            url=url,
            rps=rps,
            duration_s=duration,
            k=k,
            timeout_s=timeout_ms / 1000,
            events=events,
            arrivals=arrivals.value,
            warmup_s=warmup,
            max_in_flight=max_in_flight,
            seed=seed,
            world=world,
            synthetic_users=users,
            events_url=events_url,
        )
    except ValueError as err:
        raise _fail(str(err)) from err
    if world is None:
        crowd: SyntheticCrowd | WorldCrowd = SyntheticCrowd(users)
    else:
        building = f"building the world: {users:,} users, {days} day(s) replayed"
        with console.status(building) if progress else contextlib.nullcontext():
            crowd = WorldCrowd(replay(world))
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not progress, transient=True) as bar:
        task = bar.add_task("traffic", total=warmup + duration)

        def show(p: TrafficProgress) -> None:
            text = f"{rps:g} req/s to {url}: {p.sent:,} sent, {p.completed:,} ok, {p.errors:,} errors"
            bar.update(task, completed=p.elapsed_s, description=text)

        result = run_traffic(spec, crowd, show).to_dict()
    if as_json:
        typer.echo(json.dumps(jsonable(result)))
        return
    _show(
        f"SimNet traffic: {rps:g} req/s for {duration:g} s to {url}",
        {key: _pairs(value) if isinstance(value, dict) else value for key, value in result.items()},
    )


def _pairs(values: Mapping[str, object]) -> str:
    return ", ".join(f"{key}: {fmt(value)}" for key, value in values.items()) or "-"


if __name__ == "__main__":
    app()
