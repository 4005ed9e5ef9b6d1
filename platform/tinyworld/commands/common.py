"""What every ``tinyworld`` command shares: how it refuses bad input and resolves its environment."""

from __future__ import annotations

import logging

import typer
from pydantic import ValidationError

from tinyworld.settings import Settings, UnknownEnvironmentError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
    return settings
