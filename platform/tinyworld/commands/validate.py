"""``tinyworld validate``: the data-quality gate, for the raw event lake or the ETL's tables.

``tinyworld validate events --start D [--end D]`` validates a window of the lake;
``tinyworld validate tables --etl-out PATH`` validates the ETL's output tables. Both run the
``validate`` step (:mod:`components.validate.step`): each prints a summary (or ``--json``),
writes ``report.html`` and ``results.json`` to the report folder, remembers row counts in
``state.json`` there for the next run's bounds, and exits 1 when any suite fails (2 for bad
input: no lake, an empty window, an unreadable file).
Great Expectations is imported only when a command runs, so ``tinyworld --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from components.validate.config import ValidateConfig
from tinyworld.commands.common import AsJson, Env, configure_logging, fail, quiet_libraries, step_progress
from tinyworld.settings import Settings

if TYPE_CHECKING:
    from components.validate.step import ValidateParams, ValidateResult

app = typer.Typer(
    name="validate",
    help="The data-quality gate: Great Expectations suites for the raw events and the ETL's tables.",
    no_args_is_help=True,
    add_completion=False,
)

ReportDir = Annotated[
    str | None,
    typer.Option("--report", help="Folder (or URL) for report.html and results.json. Default: in artifacts_root."),
]
StatePath = Annotated[
    str | None, typer.Option("--state", help="Row-count state file (previous counts). Default: <report>/state.json.")
]
Tolerance = Annotated[
    float | None,
    typer.Option(help="Allowed change of a row count against the previous one, as a fraction. Default: 0.5."),
]
MaxLag = Annotated[
    float | None, typer.Option(help="Freshness: hours the newest row may lie before the window's end. Default: 3.")
]
SampleRows = Annotated[
    int | None,
    typer.Option(help="Row-level expectations see at most this many rows (counts, freshness, uniqueness see all)."),
]


@app.callback()
def main() -> None:
    """The data-quality gate: Great Expectations suites for the raw events and the ETL's tables."""


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO timestamp", param_hint="--now") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give a timezone, e.g. 2026-01-02T00:00:00Z", param_hint="--now")
    return moment.astimezone(UTC)


def _config(tolerance: float | None, max_lag_hours: float | None, sample_rows: int | None) -> ValidateConfig:
    """ValidateConfig with only the options given; the others keep the config's own defaults."""
    given = {
        "row_count_tolerance": tolerance,
        "freshness_lag": timedelta(hours=max_lag_hours) if max_lag_hours is not None else None,
        "sample_rows": sample_rows,
    }
    try:
        return ValidateConfig(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as error:
        raise fail(f"invalid options:\n{error}") from None


def _gate(params_of: Callable[[], ValidateParams], settings: Settings, as_json: bool) -> None:
    """Run the validation step, print its verdict, exit 1 when a suite failed (2 for bad input)."""
    quiet_libraries(settings.log_level)  # before the import, which logs, and after it, which sets levels
    from components.validate.read import ValidationInputError
    from components.validate.state import StateError
    from components.validate.step import ValidationFailed, run
    from tinyworld import steps

    quiet_libraries(settings.log_level)
    try:
        params = params_of()
    except ValidationError as error:
        raise fail(f"invalid options:\n{error}") from None
    try:
        with step_progress("validation", disable=as_json) as progress:
            result = run(params, steps.io(settings, progress))
    except ValidationFailed as failure:
        result = failure.result
    except (ValidationInputError, StateError) as error:
        raise fail(str(error)) from None
    except OSError as error:  # reading the lake or writing the report
        raise fail(f"I/O error: {error}") from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2, exclude={"lineage"}))
    else:
        _print_summary(result)
    if not result.success:
        raise typer.Exit(code=1)


def _print_summary(result: ValidateResult) -> None:
    console = Console()
    table = Table(title="Validation")
    for name in ("suite", "expectations", "failed", "skipped", "success"):
        table.add_column(name, justify="left" if name == "suite" else "right")
    for suite in result.suites:
        ok = "[green]yes[/green]" if suite["success"] else "[bold red]NO[/bold red]"
        table.add_row(suite["suite"], str(suite["expectations"]), str(suite["failed"]), str(suite["skipped"]), ok)
    console.print(table)
    for suite in result.suites:
        for failure in suite["failures"]:
            column = f" {failure['column']}" if failure["column"] else ""
            console.print(
                f"[red]FAILED[/red] {suite['suite']}{column}: {failure['expectation']}; "
                f"expected {failure['expected']}; observed {failure['observed']}",
                highlight=False,
                soft_wrap=True,
            )
    console.print(f"report: {result.report}", highlight=False, soft_wrap=True)


def _default_report(settings: Settings, kind: str) -> str:
    from tinyworld import steps

    return steps.artifacts(settings).join("validation", kind).url


@app.command("events")
def events(
    start: Annotated[str, typer.Option(help="First UTC day of the window (YYYY-MM-DD).")],
    end: Annotated[str | None, typer.Option(help="Last UTC day of the window, inclusive. Default: --start.")] = None,
    lake: Annotated[
        str | None, typer.Option(help="Lake root: a local path or an object-store URL. Default: the env's lake_root.")
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(help="Events after this instant are 'in the future' (ISO, with zone). Default: the clock."),
    ] = None,
    report: ReportDir = None,
    state: StatePath = None,
    tolerance: Tolerance = None,
    max_lag_hours: MaxLag = None,
    sample_rows: SampleRows = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Validate a window of raw events: nulls, types, value sets, ranges, ids, volume, freshness."""
    from components.step import Window
    from components.validate.step import ValidateParams

    settings = configure_logging(env)
    first = _day(start, "--start")
    last = _day(end, "--end") if end else first
    config = _config(tolerance, max_lag_hours, sample_rows)
    moment = _instant(now)

    def params() -> ValidateParams:
        return ValidateParams(
            report=report or _default_report(settings, "events"),
            lake=lake or settings.lake_root,
            window=Window(start=first, end=last),
            state=state,
            now=moment,
            config=config,
            title=f"Raw events {first}..{last}",
        )

    _gate(params, settings, as_json)


@app.command("tables")
def tables(
    etl_out: Annotated[str, typer.Option(help="The ETL's output folder (a table per sub-folder).")],
    table: Annotated[
        list[str] | None, typer.Option("--table", help="Validate only this table (repeatable). Default: all.")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day of the ETL window (YYYY-MM-DD), for freshness. Default: skipped.")
    ] = None,
    report: ReportDir = None,
    state: StatePath = None,
    tolerance: Tolerance = None,
    max_lag_hours: MaxLag = None,
    sample_rows: SampleRows = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Validate the ETL's output tables: nulls, types, ranges, rates, key uniqueness, volume, freshness."""
    from components.validate.step import ValidateParams

    settings = configure_logging(env)
    last = _day(end, "--end") if end else None
    config = _config(tolerance, max_lag_hours, sample_rows)

    def params() -> ValidateParams:
        return ValidateParams(
            report=report or _default_report(settings, "tables"),
            etl_out=etl_out,
            tables=tuple(table) if table else None,
            tables_end=last,
            state=state,
            config=config,
            title=f"ETL tables in {etl_out}",
        )

    _gate(params, settings, as_json)


if __name__ == "__main__":
    app()
