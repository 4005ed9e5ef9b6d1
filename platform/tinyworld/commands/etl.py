"""``tinyworld etl``: the Spark ETL over a window of the event lake.

Reads ``<lake>/dt=YYYY-MM-DD/hour=HH/*.parquet`` for days ``--start`` to ``--end`` (plus six
lookback days for trailing windows) and writes every table of ``components.etl.tables``
under ``--out``. The lake, Spark master and object-store endpoint default to the
environment's settings. ``python -m tinyworld.commands.etl ...`` runs it without the main CLI.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tinyworld.commands.common import configure_logging


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _split(value: str | None) -> dict[str, float] | None:
    if not value:
        return None
    try:
        pairs = (part.split("=", 1) for part in value.split(",") if part.strip())
        return {arm.strip(): float(weight) for arm, weight in pairs}
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not ARM=WEIGHT[,ARM=WEIGHT...]") from None


def run(
    start: Annotated[str, typer.Option(help="First day to report, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option(help="Last day to report, YYYY-MM-DD (inclusive).")],
    out: Annotated[str, typer.Option(help="Output root: one Parquet folder per table (a path or s3a:// URL).")],
    lake: Annotated[
        str | None, typer.Option(help="Lake root (dt=/hour= folders). Default: the environment's lake_root.")
    ] = None,
    master: Annotated[
        str | None, typer.Option(help="Spark master. Default: the environment's spark_master (local[*]).")
    ] = None,
    env: Annotated[
        str, typer.Option("--env", "-e", help="Environment: a file in platform/environments/ (without .yaml).")
    ] = "local",
    control_arm: Annotated[
        str | None, typer.Option(help="Control arm of the experiment. Default: 'control', else the first by name.")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Expected split for the SRM test, e.g. 'control=1,treatment=1'. Default: equal.")
    ] = None,
    half_life: Annotated[float, typer.Option(help="Half-life of the popularity score, in days.", min=0.001)] = 1.0,
    lookback: Annotated[int, typer.Option(help="Days read before --start for trailing windows.", min=0)] = 6,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables to write. Default: all of them.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Run the ETL over days START..END of the lake and write its tables under OUT."""
    from pyspark.errors import AnalysisException

    from components.etl.job import EtlOptions, run_etl
    from components.etl.session import build_session

    settings = configure_logging(env)
    first, last = _day(start), _day(end)
    try:
        options = EtlOptions(
            lookback_days=lookback,
            popularity_half_life_days=half_life,
            control_arm=control_arm,
            arm_split=_split(split),
            tables=tuple(t.strip() for t in tables.split(",") if t.strip()) if tables else None,
        )
    except ValidationError as error:
        typer.secho(f"Error: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
    spark = build_session(master or settings.spark_master, s3_endpoint_url=settings.s3_endpoint_url)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    wanted = len(options.tables) if options.tables else None
    try:
        with Progress(*columns, console=Console(stderr=True), transient=True, disable=as_json) as bar:
            from components.etl.tables import TABLES

            task = bar.add_task("reading the lake", total=wanted or len(TABLES))

            def step(name: str) -> None:
                if bar.tasks[task].description != "reading the lake":
                    bar.advance(task)
                bar.update(task, description=f"writing {name}")

            result = run_etl(spark, lake or settings.lake_root, first, last, out, options, on_step=step)
    except (ValueError, AnalysisException) as error:  # a bad window, table name or lake path
        typer.secho(f"Error: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
    finally:
        spark.stop()
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    table = Table(title=f"ETL {first}..{last}: {result.events:,} events -> {out}")
    table.add_column("table", style="bold")
    table.add_column("rows", justify="right")
    table.add_column("seconds", justify="right")
    table.add_row("(read)", f"{result.events:,}", f"{result.seconds.get('read', 0.0):.1f}")
    for name, rows in result.rows.items():
        table.add_row(name, f"{rows:,}", f"{result.seconds[name]:.1f}")
    table.add_row("total", "", f"{result.total_seconds:.1f}")
    Console().print(table)


if __name__ == "__main__":
    typer.run(run)
