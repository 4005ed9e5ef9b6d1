"""Compile the pipelines to the YAML checked into ``platform/pipelines/`` (``make pipelines``).

The same YAML is what ``tinyworld pipeline upload`` sends to a KFP backend and what the chart's
registration job uploads; CI compiles again and fails when the result differs from the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinyworld.pipelines.daily import daily
from tinyworld.pipelines.promote import promote
from tinyworld.settings import SOURCE_ROOT

PIPELINES: dict[str, Callable[..., Any]] = {"daily": daily, "promote": promote}
"""Every pipeline, by the name it is compiled, uploaded and run under."""

COMPILED_DIR = SOURCE_ROOT / "platform" / "pipelines"
"""Where the compiled YAML lives in the source tree (the image carries it)."""


def compiled_path(name: str, directory: Path | None = None) -> Path:
    """The compiled YAML of pipeline ``name``."""
    return (directory or COMPILED_DIR) / f"{name}.yaml"


def pipeline(name: str) -> Callable[..., Any]:
    """The pipeline function called ``name``; KeyError naming the known ones."""
    try:
        return PIPELINES[name]
    except KeyError:
        raise KeyError(f"unknown pipeline {name!r} (known: {', '.join(PIPELINES)})") from None


def compile_all(directory: Path | None = None) -> list[Path]:
    """Compile every pipeline into ``directory`` (default: platform/pipelines); return the files."""
    from kfp import compiler

    written = []
    for name, function in PIPELINES.items():
        path = compiled_path(name, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        compiler.Compiler().compile(function, str(path))
        written.append(path)
    return written


def drift(directory: Path | None = None) -> list[str]:
    """The pipelines whose compiled YAML in ``directory`` differs from a fresh compilation."""
    import tempfile

    with tempfile.TemporaryDirectory() as fresh:
        compile_all(Path(fresh))
        return [
            name
            for name in PIPELINES
            if not compiled_path(name, directory).is_file()
            or compiled_path(name, directory).read_text() != compiled_path(name, Path(fresh)).read_text()
        ]
