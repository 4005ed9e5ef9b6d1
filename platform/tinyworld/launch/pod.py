"""What every launched pod shares: its job's name, its command, its hardening and where its result goes.

The pods run the platform's image (:data:`tinyworld.pipelines.image.IMAGE`, the one the pipeline's
own steps run) as its non-root user, with no privilege escalation, no capabilities, a read-only
root file system and an emptyDir at ``/tmp`` (the image needs nothing written elsewhere), as the
chart's pods do. The object store's keys come from the environment's runtime Secret by reference;
they never appear in a manifest.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from tinyworld import steps
from tinyworld.settings import Settings

ENTRY_MODULE = "tinyworld.launch.entry"
"""The module a launched pod runs: one step from its parameters' JSON (see that module)."""

RESULTS_DIR = "launched"
"""Under the artifacts root: ``<job name>.json``, the result each launched step writes."""

USER = 10001
"""The image's user and group (platform/image/Dockerfile's USER; the chart's podSecurity)."""

SCRATCH = "scratch"
"""The emptyDir volume mounted at ``/tmp``, the only place a launched pod writes to its disk."""

SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
"""The runtime Secret's keys a launched pod needs: the object store's credentials."""

PART_OF = {"app.kubernetes.io/part-of": "tinyworld", "app.kubernetes.io/managed-by": "tinyworld-launcher"}
"""Labels of every launched object and pod (not the chart's selector labels: they are not the chart's)."""


def job_name(step: str, now: datetime | None = None) -> str:
    """A fresh DNS-1035 name for one launch: ``tinyworld-<step>-<UTC time>-<4 hex>`` (at most 40 characters)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return f"tinyworld-{step}-{stamp}-{secrets.token_hex(2)}"


def result_url(settings: Settings, name: str) -> str:
    """Where the launched job ``name`` writes its step's result JSON."""
    return steps.artifacts(settings).join(RESULTS_DIR, f"{name}.json").url


def entry_args(step: str, settings: Settings, params_json: str, result: str) -> list[str]:
    """The entry module's arguments: the step, the environment, its parameters (JSON) and the result's URL."""
    return [step, "--env", settings.name, "--params-json", params_json, "--result", result]


def labels(step: str, name: str) -> dict[str, str]:
    """The labels of a launched object and its pods."""
    return {**PART_OF, "app.kubernetes.io/component": step, "tinyworld.dev/launch": name}


def secret_env(settings: Settings) -> list[dict[str, Any]]:
    """The object store's keys as variables read from the runtime Secret (none without one)."""
    if not settings.runtime_secret:
        return []
    return [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": settings.runtime_secret, "key": key}}}
        for key in SECRET_KEYS
    ]


def base_env(settings: Settings) -> list[dict[str, Any]]:
    """Every launched container's variables: HOME on the scratch volume, the store's keys."""
    return [{"name": "HOME", "value": "/tmp"}, *secret_env(settings)]


def pod_security() -> dict[str, Any]:
    """The pod-level security context (restricted Pod Security)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": USER,
        "runAsGroup": USER,
        "fsGroup": USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    """The container-level security context (the chart's, for the same image)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": USER,
        "runAsGroup": USER,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def scratch_volume() -> dict[str, Any]:
    """The emptyDir the container mounts at ``/tmp``."""
    return {"name": SCRATCH, "emptyDir": {}}


def scratch_mount() -> dict[str, Any]:
    """The scratch volume at ``/tmp``."""
    return {"name": SCRATCH, "mountPath": "/tmp"}
