"""What every ``tinyworld`` command shares: how it refuses bad input and resolves its environment."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from components.step import Progress
from tinyworld.settings import Settings, UnknownEnvironmentError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Env = Annotated[str, typer.Option("--env", "-e", help="Environment: a file in platform/environments/ (without .yaml).")]
"""The ``--env`` option every command takes: which environment's settings to use."""

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
"""The ``--json`` option of commands that print a summary."""


def fail(message: object, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error on stderr; raise the returned exit (2: bad input, 1: a failed check)."""
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=code)


def settings_for(env: str) -> Settings:
    """The settings of environment ``env``, or a clear error and exit code 2."""
    try:
        return Settings.from_environment(env)
    except (UnknownEnvironmentError, ValidationError, ValueError) as error:
        raise fail(error) from None


def configure_logging(env: str) -> Settings:
    """Set up logging at the environment's level; returns its settings."""
    settings = settings_for(env)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    quiet_libraries(settings.log_level)
    return settings


CHATTY_LIBRARIES = ("great_expectations", "feast", "py4j")
"""Libraries whose INFO lines (registry refreshes, GE's plugin scans) drown the platform's own."""


def quiet_libraries(level: str) -> None:
    """Raise the chatty libraries' loggers to WARNING, unless the environment asks for DEBUG.

    Some of them set levels on their own child loggers at import, so every known child is
    raised too; call it again after importing one of them.
    """
    if level == "DEBUG":
        return
    for name in [*CHATTY_LIBRARIES, *logging.root.manager.loggerDict]:
        if name.split(".")[0] in CHATTY_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def step_progress(title: str, disable: bool = False) -> Iterator[Progress]:
    """A rich progress bar on stderr fed by a step's ``io.progress(message, fraction)`` calls."""
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with RichProgress(*columns, console=Console(stderr=True), transient=True, disable=disable) as bar:
        task = bar.add_task(title, total=1.0)

        def report(message: str, fraction: float | None) -> None:
            bar.update(task, description=f"{title}: {message}", completed=fraction if fraction is not None else None)

        yield report
