"""What a pipeline task's process pays before it runs: the tasks module imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "scipy.stats", "pyspark", "great_expectations", "feast", "ray")


def test_importing_the_tasks_leaves_the_heavy_libraries_to_the_steps_that_use_them() -> None:
    """Every kfp.local task is a fresh process: torch alone would add a second to each of a night's tasks."""
    probe = "import sys, tinyworld.pipelines.tasks; print(' '.join(m for m in sys.argv[1:] if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe, *HEAVY], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
