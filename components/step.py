"""What every step shares: the I/O context it runs with, its lineage record and its failure.

Each step of the platform has one entry point, ``components.<step>.step.run(params, io)``:
``params`` is a pydantic model (JSON-serialisable, defaults defined once, in the step), ``io``
is a :class:`StepIO` (how to reach storage, where to report progress) and the result is a
pydantic model that carries a :class:`Lineage`. The CLI, the Kubeflow components, the closed
loop and the benchmarks are thin adapters over those functions.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from components.storage import Root, StorageOptions, resolve

DISTRIBUTION = "tinyworld"
"""The distribution whose version (and source digest) names the code that ran a step."""

_PACKAGES = ("simnet", "components", "tinyworld")

Progress = Callable[[str, float | None], None]
"""``progress(message, fraction)``: a step reports what it does; fraction in [0, 1] or None."""


def _no_progress(message: str, fraction: float | None) -> None:
    del message, fraction


class StepError(RuntimeError):
    """A step that ran and failed for a reason a person must act on (a failed data-quality gate).

    ``report`` names where the details are (a report's path or URL), when there is one.
    """

    def __init__(self, message: str, report: str | None = None) -> None:
        super().__init__(message if report is None else f"{message}; report: {report}")
        self.report = report


@dataclass(frozen=True)
class StepIO:
    """What a step is handed besides its parameters: storage access and a progress sink."""

    storage: StorageOptions = field(default_factory=StorageOptions)
    progress: Progress = _no_progress

    def root(self, location: str | Root) -> Root:
        """Resolve a path or URL with this run's storage options."""
        return resolve(location, self.storage)


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<version>+src.<digest>``: the installed distribution's version and a digest of its sources.

    Read from the package metadata and the source files themselves, never from git, which a
    container lacks: two processes running the same code report the same string, and any
    change to a ``.py`` file of simnet, components or tinyworld changes it.
    """
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    digest = hashlib.sha256()
    for package in _PACKAGES:
        try:
            module = __import__(package)
        except ImportError:
            continue
        base = Path(module.__file__ or "").parent
        for path in sorted(base.rglob("*.py")):
            digest.update(str(path.relative_to(base.parent)).encode())
            digest.update(path.read_bytes())
    return f"{version}+src.{digest.hexdigest()[:12]}"


_current_code_version = code_version


class Window(BaseModel):
    """A range of whole UTC days, both ends included."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date
    end: date


class Lineage(BaseModel):
    """Where a step's output came from: inputs, data window, parameters and the code that ran."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: str  # the step's name: etl, validate, features, split, train, evaluate, register, promote
    inputs: dict[str, str] = {}  # what was read, by role (lake, interactions, model, ...): paths or URLs
    outputs: dict[str, str] = {}  # what was written, by role
    window: Window | None = None  # the event days the output reflects
    params: dict[str, Any] = {}  # the step's parameters, as JSON
    code_version: str = Field(default_factory=_current_code_version)  # package version + source digest
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0  # wall time of the step
    upstream: list[Lineage] = []  # the lineage of the inputs, when a step hands it on


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """``with timed() as elapsed: ...; elapsed()`` gives the seconds since the block began."""
    start = time.perf_counter()
    yield lambda: round(time.perf_counter() - start, 3)
