"""Run a pipeline on this machine with ``kfp.local``: the same pipeline a cluster runs, task by task.

Each task runs in a subprocess of this interpreter (``SubprocessRunner(use_venv=False)``), so
the installed tinyworld package is what runs; ``dsl.If`` branches as on a KFP backend. KFP's own
outputs (the tasks' small JSON results) go under ``pipeline_root``.
"""

from __future__ import annotations

import logging
import time
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
        function(**arguments)
    except RuntimeError as error:
        raise PipelineFailed(_plain(str(error))) from None
    return round(time.perf_counter() - started, 3)


def _plain(text: str) -> str:
    """KFP's message without its terminal colour codes."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
