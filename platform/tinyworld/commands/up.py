"""``tinyworld up``: the closed loop on this machine (what ``make run`` runs).

SimNet's users live day after day against the local platform; every night the platform learns
from their events, tests the new model against the champion on the next day's traffic and
promotes the winner. ``--resume RUN`` continues a stopped run. See docs/loop.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tinyworld.commands.common import AsJson, fail
from tinyworld.loop.state import UpOptions

DEFAULTS = UpOptions()


def up(
    users: Annotated[int | None, typer.Option(help=f"SimNet users. Default: {DEFAULTS.users:,}.")] = None,
    days: Annotated[int | None, typer.Option(help=f"Days to live. Default: {DEFAULTS.days}.")] = None,
    seed: Annotated[int | None, typer.Option(help=f"The world's seed. Default: {DEFAULTS.seed}.")] = None,
    world: Annotated[Path | None, typer.Option(help="A SimNet world YAML. Default: the calibrated world.")] = None,
    nightly: Annotated[
        Path | None,
        typer.Option(help="A YAML of the nights' options (history_days, train, nproc, promotion). Default: theirs."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="The platform's port. Default: the environment's serve_port.")
    ] = None,
    ray: Annotated[bool | None, typer.Option(help="Serve on Ray Serve (default) or uvicorn alone.")] = None,
    peers: Annotated[
        bool | None, typer.Option(help="Also run SimNet's popularity and oracle policies (default).")
    ] = None,
    warm_spark: Annotated[
        bool | None, typer.Option(help="Keep one Spark (Spark Connect) alive for the nights' ETL (default).")
    ] = None,
    monitor: Annotated[
        bool | None,
        typer.Option(
            help="Watch the run with a local Prometheus (apt-get install prometheus) and the chart's alert "
            "rules; the report shows the SLOs and alerts. Default: off."
        ),
    ] = None,
    runs: Annotated[Path, typer.Option(help="Where runs are kept.")] = Path("runs"),
    resume: Annotated[str | None, typer.Option(help="Continue the stopped run with this id (under --runs).")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
    as_json: AsJson = False,
) -> None:
    """Start the local platform and live DAYS days of SimNet against it, learning every night."""
    from tinyworld.loop.monitor import MonitorUnavailable
    from tinyworld.loop.report import summary
    from tinyworld.loop.run import up as run_up
    from tinyworld.loop.state import RunFolder

    chosen = {
        "users": users,
        "days": days,
        "seed": seed,
        "world_config": world,
        "nightly": _nightly(nightly),
        "port": port,
        "ray": ray,
        "peers": peers,
        "warm_spark": warm_spark,
        "monitor": monitor,
    }
    if resume and any(value is not None for value in chosen.values()):
        raise fail("--resume continues a run with its own options: give no other option")
    try:
        options = UpOptions.model_validate({k: v for k, v in chosen.items() if v is not None})
        state = run_up(options, runs, resume=resume, progress=progress and not as_json)
    except (ValidationError, ValueError, FileNotFoundError, MonitorUnavailable) as error:
        raise fail(error) from None
    folder = RunFolder(runs, state.run_id)
    result = summary(state, folder)
    if as_json:
        typer.echo(json.dumps(result))
        return
    _print(result, folder)


def _nightly(path: Path | None) -> dict[str, object] | None:
    """The nights' options from a YAML file (validated with the run's options)."""
    if path is None:
        return None
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise fail(f"cannot read --nightly {path}: {error}") from None
    if not isinstance(loaded, dict):
        raise fail(f"--nightly {path} must hold a mapping of NightlyOptions fields")
    return loaded


def _print(result: dict[str, object], folder: object) -> None:
    table = Table(title=f"TinyWorld loop {result['run']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("popularity_score", "oracle_score", "model_score", "gap_closed", "minutes"):
        value = result[key]
        table.add_row(key, "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(table)
    for decision in result["decisions"]:  # type: ignore[attr-defined]
        console.print(f"{decision['date']}: {decision['reason']}")
    console.print(f"report: {getattr(folder, 'root', folder)}/report.html")
