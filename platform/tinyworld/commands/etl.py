"""``tinyworld etl``: the Spark ETL over a window of the event lake (the ``etl`` step).

Reads ``<lake>/dt=YYYY-MM-DD/hour=HH/*.parquet`` for days ``--start`` to ``--end`` (plus the
lookback days for trailing windows) and writes every table of ``components.etl.tables`` under
``--out``. The lake, Spark master and object store default to the environment's settings; the
job's options default to :class:`components.etl.job.EtlOptions`.
``python -m tinyworld.commands.etl ...`` runs it without the main CLI.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from components.registry.registry import DEFAULT_MODEL_NAME
from tinyworld.commands.common import AsJson, Env, configure_logging, fail, step_progress


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def _split(value: str | None) -> dict[str, float] | None:
    if not value:
        return None
    try:
        pairs = (part.split("=", 1) for part in value.split(",") if part.strip())
        return {arm.strip(): float(weight) for arm, weight in pairs}
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not ARM=WEIGHT[,ARM=WEIGHT...]", param_hint="--split") from None


def run(
    start: Annotated[str, typer.Option(help="First day to report, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option(help="Last day to report, YYYY-MM-DD (inclusive).")],
    out: Annotated[str, typer.Option(help="Output root: one Parquet folder per table (a path or s3:// URL).")],
    lake: Annotated[
        str | None, typer.Option(help="Lake root (dt=/hour= folders). Default: the environment's lake_root.")
    ] = None,
    master: Annotated[str | None, typer.Option(help="Spark master. Default: the environment's spark_master.")] = None,
    control_arm: Annotated[
        str | None, typer.Option(help="Control arm of the experiment. Default: 'control', else the first by name.")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Expected split for the SRM test, e.g. 'control=1,treatment=1'. Default: equal.")
    ] = None,
    half_life: Annotated[
        float | None, typer.Option(help="Half-life of the popularity score, in days. Default: EtlOptions'.")
    ] = None,
    lookback: Annotated[
        int | None, typer.Option(help="Days read before --start for trailing windows. Default: EtlOptions'.")
    ] = None,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables to write. Default: all of them.")] = None,
    experiment_log: Annotated[
        str | None,
        typer.Option(
            help="Registry root (path or URL) whose experiment log names each event's experiment in the "
            "experiments table. Default: no log (every experiment is 'default')."
        ),
    ] = None,
    model_name: Annotated[
        str, typer.Option(help="The registered model whose experiment log --experiment-log reads.")
    ] = DEFAULT_MODEL_NAME,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Run the ETL over days START..END of the lake and write its tables under OUT."""
    from pyspark.errors import AnalysisException

    from components.etl.job import EtlOptions
    from components.etl.step import EtlParams, ExperimentLogLocation
    from components.etl.step import run as run_etl
    from tinyworld import steps

    settings = configure_logging(env)
    given = {
        "lookback_days": lookback,
        "popularity_half_life_days": half_life,
        "control_arm": control_arm,
        "arm_split": _split(split),
        "tables": tuple(t.strip() for t in tables.split(",") if t.strip()) if tables else None,
    }
    try:
        params = EtlParams(
            lake=lake or settings.lake_root,
            out=out,
            start=_day(start, "--start"),
            end=_day(end, "--end"),
            spark_master=master or settings.spark_master,
            options=EtlOptions(**{k: v for k, v in given.items() if v is not None}),
            experiment_log=None
            if experiment_log is None
            else ExperimentLogLocation(registry_root=experiment_log, model_name=model_name),
        )
    except ValidationError as error:
        raise fail(f"invalid options:\n{error}") from None
    try:
        with step_progress("ETL", disable=as_json) as progress:
            result = run_etl(params, steps.io(settings, progress))
    except (ValueError, AnalysisException) as error:  # a bad window, table name or lake path
        raise fail(error) from None
    if as_json:
        typer.echo(result.model_dump_json())
        return
    table = Table(title=f"ETL {params.start}..{params.end}: {result.events:,} events -> {result.out}")
    table.add_column("table", style="bold")
    table.add_column("rows", justify="right")
    table.add_column("seconds", justify="right")
    table.add_row("(read)", f"{result.events:,}", f"{result.seconds.get('read', 0.0):.1f}")
    for name, rows in result.rows.items():
        table.add_row(name, f"{rows:,}", f"{result.seconds[name]:.1f}")
    table.add_row("total", "", f"{result.lineage.seconds:.1f}")
    Console().print(table)


if __name__ == "__main__":
    typer.run(run)
