"""``tinyworld validate``: the data-quality gate, for the raw event lake or the ETL's tables.

``tinyworld validate events --start D [--end D]`` validates a window of the lake;
``tinyworld validate tables --etl-out PATH`` validates the ETL's output tables. Each prints a
summary (or ``--json``), writes ``report.html`` and ``results.json`` to the report folder,
remembers row counts in ``state.json`` there for the next run's bounds, and exits 1 when any
suite fails (2 for bad input: no lake, an empty window, an unreadable file).
Great Expectations is imported only when a command runs, so ``tinyworld --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from components.validate.config import ValidateConfig
from components.validate.state import STATE_FILE, RowCountState, StateError
from tinyworld.commands.common import configure_logging, fail

if TYPE_CHECKING:
    from components.validate.results import SuiteResult

app = typer.Typer(
    name="validate",
    help="The data-quality gate: Great Expectations suites for the raw events and the ETL's tables.",
    no_args_is_help=True,
    add_completion=False,
)

Env = Annotated[str, typer.Option("--env", "-e", help="Environment: a file in platform/environments/ (without .yaml).")]
ReportDir = Annotated[
    Path | None,
    typer.Option("--report", help="Folder for report.html, results.json and state.json. Default: in artifacts_root."),
]
StatePath = Annotated[
    Path | None, typer.Option("--state", help="Row-count state file (previous counts). Default: <report>/state.json.")
]
Tolerance = Annotated[
    float, typer.Option(help="Allowed change of a row count against the previous one, as a fraction (0.5 = 50%).")
]
MaxLag = Annotated[float, typer.Option(help="Freshness: hours the newest row may lie before the end of the window.")]
SampleRows = Annotated[
    int | None,
    typer.Option(help="Row-level expectations see at most this many rows (counts, freshness, uniqueness see all)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the summary as JSON instead of a table.")]


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


def _config(tolerance: float, max_lag_hours: float, sample_rows: int | None) -> ValidateConfig:
    try:
        return ValidateConfig(
            row_count_tolerance=tolerance, freshness_lag=timedelta(hours=max_lag_hours), sample_rows=sample_rows
        )
    except ValidationError as error:
        raise fail(f"invalid options:\n{error}") from None


def _quiet_great_expectations() -> None:
    """Keep GE's INFO chatter (some of its loggers set their own level) out of the command's output."""
    for name in ["great_expectations", *logging.root.manager.loggerDict]:
        if name.split(".")[0] == "great_expectations":
            logging.getLogger(name).setLevel(logging.WARNING)


def _gate(
    title: str,
    config: ValidateConfig,
    report: Path,
    state_path: Path | None,
    as_json: bool,
    validate: Callable[[RowCountState], Sequence[SuiteResult]],
) -> None:
    """Load the state, validate, write the report and the new state, print, exit 1 on failure."""
    _quiet_great_expectations()  # before the import, which logs, and after it, which sets levels
    from components.validate.read import ValidationInputError
    from components.validate.report import RESULTS_FILE
    from components.validate.run import remember_counts, write_report

    _quiet_great_expectations()
    state_file = state_path or report / STATE_FILE
    try:
        state = RowCountState.load(state_file)
        results = list(validate(state))
        page = write_report(results, report, title)
        remember_counts(state, results, config.state_days).save(state_file)
    except (ValidationInputError, StateError) as error:
        raise fail(str(error)) from None
    except OSError as error:  # reading the lake or writing the report
        raise fail(f"I/O error: {error}") from None
    success = all(r.success for r in results)
    if as_json:
        payload = {
            "success": success,
            "report": str(page),
            "results": str(page.with_name(RESULTS_FILE)),
            "state": str(state_file),
            "suites": [r.summary() for r in results],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_summary(title, results, page)
    if not success:
        raise typer.Exit(code=1)


def _print_summary(title: str, results: Sequence[SuiteResult], page: Path) -> None:
    console = Console()
    table = Table(title=title)
    for name in ("suite", "expectations", "failed", "skipped", "success"):
        table.add_column(name, justify="left" if name == "suite" else "right")
    for r in results:
        ok = "[green]yes[/green]" if r.success else "[bold red]NO[/bold red]"
        table.add_row(r.name, str(len(r.outcomes)), str(len(r.failed)), str(len(r.skipped)), ok)
    console.print(table)
    for r in results:
        for o in r.failed:
            column = f" {o.column}" if o.column else ""
            console.print(
                f"[red]FAILED[/red] {r.name}{column}: {o.expectation}; expected {o.expected}; observed {o.observed}",
                highlight=False,
                soft_wrap=True,
            )
    console.print(f"report: {page}", highlight=False, soft_wrap=True)


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
    tolerance: Tolerance = 0.5,
    max_lag_hours: MaxLag = 3.0,
    sample_rows: SampleRows = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Validate a window of raw events: nulls, types, value sets, ranges, ids, volume, freshness."""
    settings = configure_logging(env)
    first = _day(start, "--start")
    last = _day(end, "--end") if end else first
    config = _config(tolerance, max_lag_hours, sample_rows)
    moment = _instant(now)
    root = lake or settings.lake_root
    folder = report or Path(settings.artifacts_root) / "validation" / "events"

    def validate(previous: RowCountState) -> list[SuiteResult]:
        from components.validate.run import validate_events

        result = validate_events(
            root, first, last, moment, config=config, state=previous, s3_endpoint_url=settings.s3_endpoint_url
        )
        return [result]

    _gate(f"Raw events {first}..{last}", config, folder, state, as_json, validate)


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
    tolerance: Tolerance = 0.5,
    max_lag_hours: MaxLag = 3.0,
    sample_rows: SampleRows = None,
    as_json: AsJson = False,
    env: Env = "local",
) -> None:
    """Validate the ETL's output tables: nulls, types, ranges, rates, key uniqueness, volume, freshness."""
    settings = configure_logging(env)
    last = _day(end, "--end") if end else None
    config = _config(tolerance, max_lag_hours, sample_rows)
    folder = report or Path(settings.artifacts_root) / "validation" / "tables"

    def validate(previous: RowCountState) -> list[SuiteResult]:
        from components.validate.run import validate_tables

        return validate_tables(
            etl_out, table or None, last, config=config, state=previous, s3_endpoint_url=settings.s3_endpoint_url
        )

    _gate(f"ETL tables in {etl_out}", config, folder, state, as_json, validate)


if __name__ == "__main__":
    app()
