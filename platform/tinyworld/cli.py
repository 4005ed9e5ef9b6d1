"""The ``tinyworld`` command line: one Typer app, a command per verb or noun."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tinyworld import __version__
from tinyworld.commands import (
    etl,
    evaluate,
    features,
    ingest,
    pipeline,
    registry,
    serve,
    split,
    train,
    up,
    validate,
)
from tinyworld.commands.common import Env, settings_for

app = typer.Typer(
    name="tinyworld",
    help="TinyWorld: the MLOps platform that runs SimNet's recommender.",
    no_args_is_help=True,
    add_completion=False,
)

# Nouns with several verbs are sub-apps; single steps of the pipeline are commands.
app.add_typer(ingest.app, name="ingest")
app.command("etl")(etl.run)
app.add_typer(validate.app, name="validate")
app.add_typer(features.app, name="features")
app.command("split")(split.split)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.add_typer(registry.app, name="registry")
app.command("serve")(serve.serve)
app.add_typer(pipeline.app, name="pipeline")
app.command("up")(up.up)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tinyworld {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """TinyWorld: the MLOps platform that runs SimNet's recommender."""


@app.command("settings")
def show_settings(
    env: Env = "local",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the settings resolved for an environment (its YAML, then TINYWORLD_* overrides)."""
    settings = settings_for(env)
    if as_json:
        typer.echo(settings.model_dump_json(indent=2))
        return
    table = Table(title=f"TinyWorld settings: {settings.name}")
    table.add_column("setting", style="bold")
    table.add_column("value")
    for field, value in settings.model_dump().items():
        table.add_row(field, "-" if value is None else str(value))
    Console().print(table)


if __name__ == "__main__":
    app()
