"""``tinyworld serve``: the recommendation API (and ``POST /events``) on this machine.

By default it starts Ray locally (bound to 127.0.0.1) and runs the Ray Serve application;
``--no-ray`` serves the very same app with uvicorn in one process. Arms serve the registry's
champion (or popularity while none exists) unless ``--arm`` or the registry's experiment log says
otherwise; ``--admin-token`` (or ``TINYWORLD_ADMIN_TOKEN``) turns on the admin API that changes the
arms while serving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from components.registry.registry import DEFAULT_MODEL_NAME
from tinyworld.commands.common import Env, configure_logging, fail
from tinyworld.serving import serving_config


def parse_arm(text: str) -> dict[str, object]:
    """``name=model:weight`` (``model`` and ``weight`` optional) as an ArmConfig dict."""
    name, _, rest = text.partition("=")
    model, _, weight = rest.partition(":")
    if not name or (rest and not model):
        raise ValueError(f"bad --arm {text!r}: use NAME=MODEL:WEIGHT, e.g. control=champion:50")
    arm: dict[str, object] = {"name": name}
    if model:
        arm["model"] = model
    if weight:
        try:
            arm["weight"] = float(weight)
        except ValueError:
            raise ValueError(f"bad weight in --arm {text!r}: {weight!r} is not a number") from None
    return arm


def serve(
    etl: Annotated[
        str | None,
        typer.Option(help="ETL output root: item_features seeds the catalogue, item_popularity the fallback."),
    ] = None,
    arm: Annotated[
        list[str] | None,
        typer.Option(help="An experiment arm NAME=MODEL:WEIGHT (repeat), e.g. control=champion:50. Default: champion."),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option(help="The experiment's name (part of the arm hash). Default: ExperimentConfig's.")
    ] = None,
    model_name: Annotated[str, typer.Option(help="The registered model's name.")] = DEFAULT_MODEL_NAME,
    state: Annotated[
        Path | None,
        typer.Option(help="Ingest state file for POST /events. Default: <artifacts_root>/serving/ingest.sqlite."),
    ] = None,
    events: Annotated[bool, typer.Option(help="Take events at POST /events (into the lake).")] = True,
    features: Annotated[bool, typer.Option(help="Read online user features from Feast, if applied.")] = True,
    ray: Annotated[bool, typer.Option(help="Run on Ray Serve (default) or, with --no-ray, uvicorn alone.")] = True,
    host: Annotated[str | None, typer.Option(help="Interface to bind. Default: the environment's serve_host.")] = None,
    port: Annotated[int | None, typer.Option(help="Port. Default: the environment's serve_port.")] = None,
    reload_interval: Annotated[
        float | None,
        typer.Option(help="Seconds between registry checks for new models and experiments. Default: ServingConfig's."),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="TINYWORLD_ADMIN_TOKEN",
            show_default=False,
            help="Bearer token of the admin API (PUT /admin/experiment changes the arms while serving). "
            "Default: ServingConfig's (none: the admin routes are off).",
        ),
    ] = None,
    env: Env = "local",
) -> None:
    """Serve POST /recommendations, POST /events, GET /healthz, GET /metrics and /admin until interrupted.

    The arms given here are the starting experiment: the newest record of the registry's experiment
    log wins over them, and PUT /admin/experiment (with --admin-token) changes them while serving.
    """
    settings = configure_logging(env)
    try:
        config = serving_config(
            settings,
            arms=[parse_arm(a) for a in arm] if arm else None,
            experiment=experiment,
            model_name=model_name,
            state=state,
            events=events,
            features=features,
            etl=etl,
            reload_interval=reload_interval,
            admin_token=admin_token,
        )
    except (ValueError, ValidationError) as error:
        raise fail(error) from None
    bind, listen = host or settings.serve_host, port or settings.serve_port
    if ray:
        from components.serving.deployment import serve_ray

        typer.echo(f"Serving on Ray at http://{bind}:{listen} (Ctrl-C stops)", err=True)
        serve_ray(config, bind, listen, address=settings.ray_address, blocking=True)
    else:
        from components.serving.host import serve_uvicorn

        typer.echo(f"Serving at http://{bind}:{listen} (Ctrl-C stops)", err=True)
        serve_uvicorn(config, bind, listen)
