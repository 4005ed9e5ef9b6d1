"""``tinyworld pipeline``: compile, run locally, upload and schedule the Kubeflow pipelines.

``compile`` writes the YAML under ``platform/pipelines/`` (``--check`` fails on drift);
``run daily --date D`` runs the pipeline on this machine under ``kfp.local``; ``upload`` and
``schedule`` send the same YAML to a KFP backend and create its recurring run.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tinyworld.commands.common import Env, configure_logging, fail
from tinyworld.settings import Settings

app = typer.Typer(
    name="pipeline",
    help="The Kubeflow pipelines: compile, run locally (kfp.local), upload and schedule on a cluster.",
    no_args_is_help=True,
    add_completion=False,
)

Name = Annotated[str, typer.Argument(help="The pipeline: daily or promote.")]
Host = Annotated[str, typer.Option(help="The KFP API, e.g. http://127.0.0.1:8080 (through `make ui`).")]


@app.callback()
def main() -> None:
    """The Kubeflow pipelines: compile, run locally (kfp.local), upload and schedule on a cluster."""


@app.command("compile")
def compile_pipelines(
    check: Annotated[
        bool, typer.Option(help="Compile to a temporary folder and fail if the checked-in YAML differs.")
    ] = False,
) -> None:
    """Compile every pipeline into platform/pipelines/<name>.yaml."""
    from tinyworld.pipelines.compile import compile_all, drift

    if check:
        stale = drift()
        if stale:
            raise fail(f"compiled pipelines out of date: {', '.join(stale)}; run `make pipelines` and commit", code=1)
        typer.echo("compiled pipelines are up to date")
        return
    for path in compile_all():
        typer.echo(f"wrote {path}")


def _day(value: str | None) -> str:
    if value is None:
        return ""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--date") from None


@app.command("run")
def run(
    name: Name,
    day: Annotated[
        str | None, typer.Option("--date", help="The UTC day to process (YYYY-MM-DD). Default: yesterday.")
    ] = None,
    options_file: Annotated[
        Path | None,
        typer.Option(
            "--options", help="daily: a YAML of NightlyOptions (history_days, train, nproc, promotion thresholds)."
        ),
    ] = None,
    history_days: Annotated[
        int | None, typer.Option(help="daily: days of events the night's ETL reports (wins over --options).")
    ] = None,
    direct: Annotated[
        bool, typer.Option(help="daily: call the tasks in this process instead of under kfp.local.")
    ] = False,
    env: Env = "local",
) -> None:
    """Run a pipeline on this machine under kfp.local; exit 1 when a task fails."""
    from tinyworld import steps
    from tinyworld.pipelines.compile import pipeline
    from tinyworld.pipelines.local import PipelineFailed, run_local, step_seconds

    settings = configure_logging(env)
    try:
        pipeline(name)
    except KeyError as error:
        raise fail(error.args[0]) from None
    when = _day(day)
    options = _options(options_file, history_days)
    arguments = {"day": when, "env": env}
    if name == "daily":
        arguments["options"] = options
    try:
        if direct and name == "daily":
            from tinyworld.pipelines.direct import daily

            _, seconds = daily(env, when, options)
            _print_seconds(name, seconds)
        else:
            seconds_total = run_local(name, arguments, steps.kfp_root(settings))
            _print_seconds(name, step_seconds(steps.kfp_root(settings), name), seconds_total)
    except PipelineFailed as error:
        _explain_failure(settings, when)
        raise fail(error, code=1) from None
    except Exception as error:  # a direct run surfaces the step's own error
        _explain_failure(settings, when)
        raise fail(f"{type(error).__name__}: {error}", code=1) from None
    if name == "daily":
        _print_outcome(settings, when)
    elif not direct:
        _print_decision(steps.kfp_root(settings))


def _options(path: Path | None, history_days: int | None) -> str:
    """NightlyOptions as the pipeline's JSON parameter: the file's values, then --history-days."""
    import yaml

    from tinyworld import steps

    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path else {}
        if history_days is not None:
            values["history_days"] = history_days
        return steps.NightlyOptions.model_validate(values).model_dump_json() if values else ""
    except (OSError, yaml.YAMLError, ValidationError, TypeError) as error:
        raise fail(f"invalid nightly options{f' in {path}' if path else ''}: {error}") from None


def _print_seconds(name: str, seconds: dict[str, float], total: float | None = None) -> None:
    """Seconds per step, and the run's total (KFP's orchestration included, when it ran the steps)."""
    table = Table(title=f"pipeline {name}: seconds per step")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for task, value in seconds.items():
        table.add_row(task, f"{value:.1f}")
    table.add_row("total", f"{total if total is not None else sum(seconds.values()):.1f}", style="bold")
    Console().print(table)


def _explain_failure(settings: Settings, day: str) -> None:
    """Point at the validation report when the night's gate is what failed."""
    from pydantic import ValidationError

    from components.validate.report import REPORT_FILE, RESULTS_FILE
    from components.validate.results import ValidationRun
    from tinyworld import steps
    from tinyworld.pipelines.tasks import night_of

    folder = steps.Night.of(settings, night_of(day)).root.join("validation")
    try:
        verdict = ValidationRun.model_validate_json(folder.join(RESULTS_FILE).read_text())
    except (OSError, ValidationError):
        return
    if not verdict.success:
        failed = ", ".join(s.name for s in verdict.suites if not s.success)
        typer.secho(f"validation failed ({failed}); report: {folder.join(REPORT_FILE)}", err=True, fg=typer.colors.RED)


def _print_outcome(settings: Settings, day: str) -> None:
    """What the night left: the offline evaluation's verdict."""
    from tinyworld import steps
    from tinyworld.pipelines.tasks import night_of

    night = steps.Night.of(settings, night_of(day))
    try:
        report = json.loads(night.root.join("evaluation.json").read_text())
    except (OSError, ValueError):
        return
    decision = report.get("promotion") or {}
    verdict = "passed" if decision.get("promote") else "rejected"
    typer.echo(f"offline evaluation {verdict}: {decision.get('reason', '')}")


def _print_decision(pipeline_root: Path) -> None:
    """What the promote pipeline decided, and why."""
    from components.registry.step import PromoteResult
    from tinyworld.pipelines.local import task_output

    output = task_output(pipeline_root, "promote", "promote")
    if output is not None:
        result = PromoteResult.model_validate_json(output)
        typer.echo(result.reason)


@app.command("upload")
def upload(name: Name, host: Host, env: Env = "local") -> None:
    """Upload a compiled pipeline to a KFP backend (a new version when its YAML changed)."""
    from tinyworld.pipelines.client import connect
    from tinyworld.pipelines.client import upload as upload_pipeline

    configure_logging(env)
    try:
        pipeline_id, version_id = upload_pipeline(connect(host), name)
    except (KeyError, FileNotFoundError) as error:
        raise fail(error) from None
    typer.echo(f"pipeline {name}: id {pipeline_id}, version {version_id}")


@app.command("schedule")
def schedule(
    name: Name,
    host: Host,
    cron: Annotated[
        str | None, typer.Option(help="Six-field cron (UTC). Default: the pipeline's own schedule.")
    ] = None,
    env: Env = "local",
) -> None:
    """Upload a pipeline and create its recurring run, with the environment as its parameter."""
    from tinyworld.pipelines.client import connect
    from tinyworld.pipelines.client import schedule as schedule_pipeline

    configure_logging(env)
    try:
        run_id = schedule_pipeline(connect(host), name, env, cron)
    except (KeyError, FileNotFoundError) as error:
        raise fail(error) from None
    typer.echo(f"recurring run {run_id} of {name} in environment {env}")
