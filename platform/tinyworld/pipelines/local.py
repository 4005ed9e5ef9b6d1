"""Run a pipeline on this machine with ``kfp.local``: the same pipeline a cluster runs, task by task.

Each task runs in a subprocess of this interpreter (``SubprocessRunner(use_venv=False)``), so
the installed tinyworld package is what runs; ``dsl.If`` branches as on a KFP backend. KFP's own
outputs (the tasks' small JSON results) go under ``pipeline_root``.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path

from tinyworld.pipelines.compile import pipeline

log = logging.getLogger(__name__)


class PipelineFailed(RuntimeError):
    """A task of the pipeline failed; the message names the pipeline and the task."""


def run_local(name: str, arguments: dict[str, str], pipeline_root: Path) -> float:
    """Run pipeline ``name`` with ``arguments`` under kfp.local; return its seconds.

    Raises :class:`PipelineFailed` when a task fails (its log, with the reason, is printed above).
    """
    from kfp import local

    function = pipeline(name)
    pipeline_root.mkdir(parents=True, exist_ok=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # the tasks name the platform's image, and this interpreter is what that image holds
            warnings.filterwarnings("ignore", message=".*non-Python base image", category=RuntimeWarning)
            function(**arguments)
    except RuntimeError as error:
        raise PipelineFailed(_plain(str(error))) from None
    return round(time.perf_counter() - started, 3)


def task_output(pipeline_root: Path, name: str, task: str) -> str | None:
    """The single output of ``task`` in the latest kfp.local run of pipeline ``name``; None when that run
    did not run the task (an earlier run's output is never taken for it)."""
    runs = sorted(pipeline_root.glob(f"{name}-*"), key=lambda run: run.stat().st_mtime)
    written = runs[-1] / task / "executor_output.json" if runs else None
    if written is None or not written.is_file():
        return None
    value = json.loads(written.read_text(encoding="utf-8")).get("parameterValues", {}).get("Output")
    return value if isinstance(value, str) else None


def step_seconds(pipeline_root: Path, name: str) -> dict[str, float]:
    """Each step's own seconds (from its result's lineage) in the latest run of ``name``, in run order."""
    runs = sorted(pipeline_root.glob(f"{name}-*"), key=lambda run: run.stat().st_mtime)
    if not runs:
        return {}
    seconds: dict[str, float] = {}
    for written in sorted(runs[-1].glob("*/executor_output.json"), key=lambda path: path.stat().st_mtime):
        value = json.loads(written.read_text(encoding="utf-8")).get("parameterValues", {}).get("Output")
        try:
            seconds[written.parent.name] = float(json.loads(value)["lineage"]["seconds"])
        except (TypeError, ValueError, KeyError):
            continue  # an output that is not a step's result (the offline verdict)
    return seconds


def _plain(text: str) -> str:
    """KFP's message without its terminal colour codes."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
