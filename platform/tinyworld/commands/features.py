"""``tinyworld features``: the feature store (Feast) over the ETL's feature tables.

``run`` is the pipeline's features step (:func:`components.features.step.run`): ``apply`` then
``materialize``. ``apply`` registers the entities and feature views of ``feature_repo/`` over an ETL
output; ``materialize`` copies the latest rows into the online store (SQLite locally, Redis in a
cluster); ``lookup`` reads an entity's online features; ``ui`` serves Feast's web UI in the
foreground. :func:`tinyworld.steps.feature_store` maps an environment's settings to the feature store's
configuration: Feast's state (registry, SQLite online store) and the rendered ``feature_store.yaml``
live under ``<artifacts_root>/features`` unless ``--state`` says otherwise.
``python -m tinyworld.commands.features ...`` runs it without the main CLI.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from components.features.config import FeatureStoreConfig
from components.features.repo import UI_PORT
from tinyworld import steps
from tinyworld.commands.common import AsJson, Env, configure_logging, fail, step_progress
from tinyworld.settings import Settings

if TYPE_CHECKING:
    from components.features.repo import FeatureRepo


app = typer.Typer(
    name="features",
    help="The feature store: apply definitions, materialise to the online store, look features up.",
    no_args_is_help=True,
    add_completion=False,
)

StateOption = Annotated[
    str | None,
    typer.Option(
        help="Folder (or URL) for Feast's registry and SQLite online store. Default: <artifacts_root>/features."
    ),
]
EndOption = Annotated[
    str | None,
    typer.Option(help="Materialise rows up to this UTC time (ISO). Default: the latest event_timestamp in the data."),
]
EtlOutOption = Annotated[str, typer.Option(help="The ETL's output root (one folder per table): its `--out`.")]
ViewOption = Annotated[
    list[str] | None, typer.Option("--view", help="Only this feature view (repeatable). Default: all of them.")
]


@app.callback()
def main() -> None:
    """The feature store: apply definitions, materialise to the online store, look features up."""


def _config(settings: Settings, state: str | None) -> FeatureStoreConfig:
    """The environment's feature store, with ``--state`` (when given) in place of its state folder."""
    config = steps.feature_store(settings)
    if state is None:
        return config
    return FeatureStoreConfig.model_validate(config.model_dump() | {"state": state})


def _open(env: str, state: str | None) -> FeatureRepo:
    """The environment's opened repository; a bad environment, config or repository exits with code 2."""
    from components.features.repo import open_repo

    settings = configure_logging(env)
    try:
        return open_repo(_config(settings, state), storage=settings.storage())
    except ValueError as error:  # FeatureStoreError and pydantic's ValidationError are ValueErrors
        raise fail(error) from None


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or datetime (YYYY-MM-DD[THH:MM[:SS]][+00:00])"
        ) from None


@app.command("run")
def run_command(
    etl_out: EtlOutOption,
    end: EndOption = None,
    view: ViewOption = None,
    env: Env = "local",
    state: StateOption = None,
    as_json: AsJson = False,
) -> None:
    """The pipeline's features step: apply over ETL_OUT, then materialise every view (or those named)."""
    from components.features.step import FeaturesParams, run

    until = _moment(end)
    settings = configure_logging(env)
    try:
        params = FeaturesParams(etl_out=etl_out, store=_config(settings, state), end=until, views=view or None)
        with step_progress("features", disable=as_json) as progress:
            result = run(params, steps.io(settings, progress))
    except ValueError as error:  # FeatureStoreError and pydantic's ValidationError are ValueErrors
        raise fail(error) from None
    if as_json:
        typer.echo(result.model_dump_json())
        return
    table = Table(title=f"Feast project {result.project} up to {result.end:%Y-%m-%d %H:%M} UTC ({result.online_store})")
    for column in ("feature view", "rows applied", "entities materialised", "seconds"):
        table.add_column(column, justify="left" if column == "feature view" else "right")
    for name, rows in result.views.items():
        table.add_row(name, f"{rows.applied:,}", f"{rows.materialised:,}", f"{rows.seconds:.1f}")
    table.add_row("total", "", f"{result.materialised:,}", f"{result.lineage.seconds:.1f}")
    console = Console()
    console.print(table)
    for deleted in result.deleted:
        console.print(f"removed from the registry: {deleted}")


@app.command("apply")
def apply_command(
    etl_out: EtlOutOption,
    env: Env = "local",
    state: StateOption = None,
    as_json: AsJson = False,
) -> None:
    """Register the entities and feature views of feature_repo/ over the ETL tables under ETL_OUT."""
    from components.features.apply import apply
    from components.features.errors import FeatureStoreError

    repo = _open(env, state)
    try:
        result = apply(repo, etl_out)
    except FeatureStoreError as error:
        raise fail(error) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    table = Table(title=f"Feast project {result.project}: applied in {result.seconds:.1f} s")
    for column in ("feature view", "entity", "features", "rows", "source"):
        table.add_column(column, justify="right" if column in ("features", "rows") else "left")
    for view in result.views:
        table.add_row(view.name, f"{view.entity} ({view.join_key})", str(view.features), f"{view.rows:,}", view.source)
    console = Console()
    console.print(table)
    console.print(f"stores: offline {result.offline_store}, online {result.online_store}; registry {result.registry}")
    for deleted in result.deleted:
        console.print(f"removed from the registry: {deleted}")
    console.print(f"web UI: {repo.ui_command()}")


@app.command("materialize")
def materialize_command(
    end: EndOption = None,
    view: ViewOption = None,
    env: Env = "local",
    state: StateOption = None,
    as_json: AsJson = False,
) -> None:
    """Copy each view's latest rows since its last run into the online store."""
    from components.features.errors import FeatureStoreError
    from components.features.materialize import materialize

    until = _moment(end)
    repo = _open(env, state)
    try:
        result = materialize(repo, until, view or None)
    except FeatureStoreError as error:
        raise fail(error) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    table = Table(title=f"Materialised to the {repo.online_store} online store up to {result.end:%Y-%m-%d %H:%M} UTC")
    for column in ("feature view", "from", "to", "entities", "seconds", "rows/s"):
        table.add_column(column, justify="left" if column == "feature view" else "right")
    for run in result.views:
        if run.skipped:
            table.add_row(run.name, "up to date", f"{run.end:%Y-%m-%d %H:%M}", "0", "-", "-")
            continue
        rate = f"{run.rows / run.seconds:,.0f}" if run.seconds else "-"
        start = f"{run.start:%Y-%m-%d %H:%M}" if run.start else "-"
        table.add_row(run.name, start, f"{run.end:%Y-%m-%d %H:%M}", f"{run.rows:,}", f"{run.seconds:.1f}", rate)
    table.add_row("total", "", "", f"{result.rows:,}", f"{result.seconds:.1f}", "")
    Console().print(table)


def _cell(value: Any) -> str:
    """A feature value for a terminal: vectors shortened, floats to 4 significant digits, nulls as '-'."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        items = list(value.tolist() if hasattr(value, "tolist") else value)
        head = ", ".join(f"{v:.3g}" for v in items[:3])
        return f"[{head}{', ...' if len(items) > 3 else ''}] ({len(items)})"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@app.command("lookup")
def lookup_command(
    entity: Annotated[str, typer.Argument(help="Entity: user, item or creator (or its join key, e.g. user_id).")],
    ids: Annotated[list[int], typer.Argument(help="Entity ids to look up.")],
    view: ViewOption = None,
    env: Env = "local",
    state: StateOption = None,
    as_json: AsJson = False,
) -> None:
    """Read the online features of ENTITY for IDS, as the recommender does."""
    from components.features.errors import FeatureStoreError
    from components.features.online import OnlineReader, missing_ids

    repo = _open(env, state)
    try:
        reader = OnlineReader(repo, entity, view or None)
        frame = reader.read(ids)
    except (FeatureStoreError, ValueError) as error:
        raise fail(error) from None
    missing = missing_ids(frame, reader.join_key)
    if as_json:
        records = json.loads(frame.to_json(orient="records"))
        typer.echo(json.dumps({"entity": reader.entity, "rows": records, "missing": missing}))
        return
    table = Table(title=f"Online features of {reader.entity} ({repo.online_store})")
    table.add_column("view", no_wrap=True)
    table.add_column("feature", style="bold", no_wrap=True)
    for entity_id in frame[reader.join_key]:
        table.add_column(f"{reader.join_key}={entity_id}", justify="right")
    previous = ""
    for column in reader.columns:
        view_name, feature = column.split("__", 1)
        table.add_row("" if view_name == previous else view_name, feature, *(_cell(v) for v in frame[column]))
        previous = view_name
    console = Console()
    console.print(table)
    if missing:
        console.print(f"no online features for {reader.join_key} {missing}: not materialised, or unknown ids")


UI_NEEDS = "grpcio-health-checking==1.81.1"
"""What Feast's UI imports beyond feast[redis,spark]; 1.81 matches the installed protobuf 6 runtime."""


@app.command("ui")
def ui_command(
    port: Annotated[int, typer.Option(help="Port to serve the UI on.", min=1, max=65535)] = UI_PORT,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    env: Env = "local",
    state: StateOption = None,
) -> None:
    """Serve Feast's web UI over the environment's registry, in the foreground (Ctrl-C stops it)."""
    import importlib.util

    repo = _open(env, state)
    if not repo.registry_exists():
        raise fail(f"no feature registry at {repo.registry_path}; run `tinyworld features apply` first")
    if importlib.util.find_spec("grpc_health") is None:
        raise fail(f"Feast's UI needs {UI_NEEDS}: pip install '{UI_NEEDS}'")
    typer.echo(f"Feast UI on http://{host}:{port}/ (Ctrl-C stops it); equivalent: {repo.ui_command(port)}")
    repo.store.serve_ui(host=host, port=port)


if __name__ == "__main__":
    app()
