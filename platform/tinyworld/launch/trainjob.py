"""The training step as a Kubeflow Trainer TrainJob: the same step, in the image, on a cluster node.

The TrainJob references the ClusterTrainingRuntime ``Settings.train_runtime`` (``torch-distributed``,
which the Trainer ships: one replicated job and container, both called ``node``) and overrides its
image and command: the node runs :mod:`tinyworld.launch.entry` with the step's ``TrainParams`` as
JSON, so it does what the local step does, ``components.train.step.run``: in one process, or with
``params.nproc > 1`` through ``torchrun --standalone`` on that node (gloo on CPU, nccl when it
has a GPU per process). It writes the card and the ``TrainResult`` JSON, which :func:`launch` reads
back.

One node: the step's torchrun is standalone (``components.train.run``), so more nodes would each
train alone. ``numProcPerNode`` is the step's ``nproc``, which is what the node runs; the Trainer's
``PET_*`` rendezvous variables go unused. GPUs (``nvidia.com/gpu``) are requested when
``Settings.train_gpus`` says so; the step uses one when it sees one.
"""

from __future__ import annotations

from typing import Any

from components.train.step import TrainParams, TrainResult
from tinyworld.launch import pod
from tinyworld.launch.kube import Kind, Kube, State
from tinyworld.pipelines.image import IMAGE
from tinyworld.settings import Settings

TRAINJOB = Kind(group="trainer.kubeflow.org", version="v1alpha1", plural="trainjobs", kind="TrainJob")
"""Kubeflow Trainer v2's job (the Trainer release in terraform/versions.json)."""

NODE = "node"
"""The replicated job and the container of the torch-distributed runtime that run the trainer."""

NODES = 1
"""Training nodes (see the module doc: the step's torchrun is standalone)."""

MANAGER = "tinyworld.dev/launcher"
"""The owner of this launcher's runtime patch (the Trainer keys patches by manager)."""

STEP = "train"
"""The step's name: in the job's name, its labels and the entry module's arguments."""


def resources(settings: Settings) -> dict[str, Any]:
    """Requests and limits of the node: CPU and memory alike, and the GPUs when there are any."""
    bounds: dict[str, Any] = {"cpu": settings.train_cpu, "memory": settings.train_memory}
    if settings.train_gpus:
        bounds["nvidia.com/gpu"] = str(settings.train_gpus)
    return {"requests": dict(bounds), "limits": dict(bounds)}


def manifest(name: str, params: TrainParams, settings: Settings, result: str) -> dict[str, Any]:
    """The TrainJob ``name`` that trains ``params`` and writes the result JSON to ``result``."""
    labels = pod.labels(STEP, name)
    container = {
        "name": NODE,
        "securityContext": pod.container_security(),
        "volumeMounts": [pod.scratch_mount()],
    }
    pod_spec: dict[str, Any] = {
        "securityContext": pod.pod_security(),
        "volumes": [pod.scratch_volume()],
        "containers": [container],
    }
    if settings.train_service_account:
        pod_spec["serviceAccountName"] = settings.train_service_account
    patch = {
        "manager": MANAGER,
        "trainingRuntimeSpec": {
            "template": {
                "spec": {
                    "replicatedJobs": [
                        {
                            "name": NODE,
                            "template": {
                                "spec": {"template": {"metadata": {"labels": labels}, "spec": pod_spec}},
                            },
                        }
                    ]
                }
            }
        },
    }
    return {
        "apiVersion": TRAINJOB.api_version,
        "kind": TRAINJOB.kind,
        "metadata": {"name": name, "namespace": settings.namespace, "labels": labels},
        "spec": {
            "runtimeRef": {
                "apiGroup": TRAINJOB.group,
                "kind": "ClusterTrainingRuntime",
                "name": settings.train_runtime,
            },
            "activeDeadlineSeconds": settings.launch_timeout_s,
            "trainer": {
                "image": IMAGE,
                "command": ["python", "-m", pod.ENTRY_MODULE],
                "args": pod.entry_args(STEP, settings, params.model_dump_json(), result),
                "env": pod.base_env(settings),
                "numNodes": NODES,
                "numProcPerNode": params.nproc,
                "resourcesPerNode": resources(settings),
            },
            "runtimePatches": [patch],
        },
    }


def state_of(job: dict[str, Any]) -> State:
    """A TrainJob's state from its conditions: ``Complete`` or ``Failed`` true ends it."""
    conditions = (job.get("status") or {}).get("conditions") or []
    for condition in conditions:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return State(finished=True, failed=condition["type"] == "Failed", condition=_describe(condition), pod=None)
    if not conditions:
        return State(finished=False, failed=False, condition="no conditions yet")
    latest = max(conditions, key=lambda condition: str(condition.get("lastTransitionTime", "")))
    return State(finished=False, failed=False, condition=_describe(latest))


def _describe(condition: dict[str, Any]) -> str:
    """``Type=Status (Reason): message``."""
    text = f"{condition.get('type')}={condition.get('status')}"
    if condition.get("reason"):
        text += f" ({condition['reason']})"
    return f"{text}: {condition['message']}" if condition.get("message") else text


def pod_selector(name: str) -> str:
    """The label selector of the TrainJob's pods (JobSet labels them with its name, the TrainJob's)."""
    return f"jobset.sigs.k8s.io/jobset-name={name}"


def launch(settings: Settings, params: TrainParams, kube: Kube | None = None) -> TrainResult:
    """Train ``params`` in a TrainJob, wait for it, and return the step's result as the node wrote it.

    Raises :class:`~tinyworld.launch.kube.LaunchFailed` when the job fails or outlasts
    ``Settings.launch_timeout_s``; a finished job is deleted, a failed one is left to inspect.
    """
    from components.storage import resolve

    name = pod.job_name(STEP)
    result = pod.result_url(settings, name)
    job = manifest(name, params, settings, result)
    (kube or Kube.connect()).run(TRAINJOB, job, state_of, settings.launch_timeout_s, pods=pod_selector(name))
    return TrainResult.model_validate_json(resolve(result, settings.storage()).read_text())
