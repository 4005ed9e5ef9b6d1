"""What a pipeline task's pod needs in a cluster: the runtime Secret, as environment variables.

KFP runs every task in its own namespace, and a pod reads only its namespace's Secrets:
Terraform copies the runtime Secret (object-store keys, Redis URL with its password) there under
the chart's name for it (``runtimeSecret`` in charts/tinyworld/values.yaml, read here, never
repeated), and every task asks for it. The reference is optional, so a cluster without it starts
the pods anyway (their settings then say what is missing), and kfp.local, which runs no pods,
ignores it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from kfp import dsl, kubernetes

from tinyworld.deploy.chart import CHART_DIR

RUNTIME_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TINYWORLD_REDIS_URL")
"""The runtime Secret's keys, each the environment variable of the same name."""


@cache
def runtime_secret() -> str:
    """The runtime Secret's name: the chart's ``runtimeSecret`` value (read once per process)."""
    values: Any = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    return str(values["runtimeSecret"])


def in_cluster(task: dsl.PipelineTask) -> dsl.PipelineTask:
    """``task`` with the runtime Secret's keys as environment variables of its pod (optional)."""
    return kubernetes.use_secret_as_env(
        task, secret_name=runtime_secret(), secret_key_to_env={key: key for key in RUNTIME_KEYS}, optional=True
    )
