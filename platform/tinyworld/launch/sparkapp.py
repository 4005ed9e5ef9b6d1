"""The ETL step as a Spark Operator SparkApplication: the same step, its driver and executors in pods.

The operator submits the application; its driver pod runs :mod:`tinyworld.launch.entry` (as a file:
spark-submit takes the main Python file's path, here ``local://`` inside the image) with the step's
``EtlParams`` as JSON. That calls ``components.etl.step.run``, whose session on the environment's
``spark_master`` (``k8s://``) joins the submitted application, so the job's executors are pods of
the same image. The driver writes the ``EtlStepResult`` JSON, which :func:`launch` reads back.

What the image provides: pyspark from PyPI, which ships ``bin/spark-submit``, the Kubernetes
resource manager's jars and ``find-spark-home``; a JRE; and ``platform/image/entrypoint.sh``, which
does what Spark's own images' entrypoint does with the ``driver`` and ``executor`` arguments the
pods are started with (SPARK_HOME is the installed pyspark). ``python3`` on the image's PATH is the
venv's interpreter, so the driver and the executors' Python workers run the installed platform.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from components.etl.step import EtlParams, EtlStepResult
from tinyworld.launch import pod
from tinyworld.launch.kube import Kind, Kube, State
from tinyworld.pipelines.image import IMAGE, IMAGE_SOURCE_ROOT
from tinyworld.settings import SOURCE_ROOT, Settings

SPARK_APPLICATION = Kind(
    group="sparkoperator.k8s.io", version="v1beta2", plural="sparkapplications", kind="SparkApplication"
)
"""The Spark Operator's application (the operator release in terraform/versions.json)."""

STEP = "etl"
"""The step's name: in the application's name, its labels and the entry module's arguments."""

ENTRY_FILE = Path(__file__).with_name("entry.py")
"""The entry module as a file, which spark-submit runs as the application's main file."""

TIME_TO_LIVE_S = 24 * 3600
"""Seconds a finished application (a failed one too) is kept before the operator deletes it."""

FINISHED = {"COMPLETED": False, "FAILED": True, "SUBMISSION_FAILED": True}
"""The operator's final application states, and whether each is a failure."""


@cache
def spark_version() -> str:
    """The installed pyspark's version: the Spark the image's driver and executors run."""
    return metadata.version("pyspark")


def main_file() -> str:
    """``local://<the entry file's path in the image>``."""
    return f"local://{IMAGE_SOURCE_ROOT}/{ENTRY_FILE.relative_to(SOURCE_ROOT).as_posix()}"


def _pod(settings: Settings, labels: dict[str, str]) -> dict[str, Any]:
    """What the driver and the executors share: labels, variables, security, the scratch volume."""
    return {
        "labels": labels,
        "env": pod.base_env(settings),
        "podSecurityContext": pod.pod_security(),
        "securityContext": pod.container_security(),
        "volumeMounts": [pod.scratch_mount()],
    }


def manifest(name: str, params: EtlParams, settings: Settings, result: str) -> dict[str, Any]:
    """The SparkApplication ``name`` that runs the ETL of ``params`` and writes its result JSON to ``result``."""
    labels = pod.labels(STEP, name)
    return {
        "apiVersion": SPARK_APPLICATION.api_version,
        "kind": SPARK_APPLICATION.kind,
        "metadata": {"name": name, "namespace": settings.namespace, "labels": labels},
        "spec": {
            "type": "Python",
            "pythonVersion": "3",
            "mode": "cluster",
            "image": IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": main_file(),
            "arguments": pod.entry_args(STEP, settings, params.model_dump_json(), result),
            "sparkVersion": spark_version(),
            "restartPolicy": {"type": "Never"},
            "timeToLiveSeconds": TIME_TO_LIVE_S,
            "volumes": [pod.scratch_volume()],
            "driver": {
                **_pod(settings, labels),
                "cores": settings.spark_driver_cores,
                "coreLimit": str(settings.spark_driver_cores),
                "memory": settings.spark_driver_memory,
                "serviceAccount": settings.spark_service_account,
            },
            "executor": {
                **_pod(settings, labels),
                "instances": settings.spark_executor_instances,
                "cores": settings.spark_executor_cores,
                "coreLimit": str(settings.spark_executor_cores),
                "memory": settings.spark_executor_memory,
                "deleteOnTermination": True,
            },
        },
    }


def state_of(application: dict[str, Any]) -> State:
    """An application's state from ``status.applicationState``; the driver's pod from ``status.driverInfo``."""
    status = application.get("status") or {}
    current = status.get("applicationState") or {}
    state = str(current.get("state") or "") or "not submitted yet"
    driver = (status.get("driverInfo") or {}).get("podName")
    condition = f"{state}: {current['errorMessage']}" if current.get("errorMessage") else state
    return State(finished=state in FINISHED, failed=FINISHED.get(state, False), condition=condition, pod=driver)


def pod_selector(name: str) -> str:
    """The label selector of the application's driver pod (the operator labels it with the app's name)."""
    return f"sparkoperator.k8s.io/app-name={name},spark-role=driver"


def launch(settings: Settings, params: EtlParams, kube: Kube | None = None) -> EtlStepResult:
    """Run the ETL of ``params`` as a SparkApplication, wait for it, return the step's result as the driver wrote it.

    Raises :class:`~tinyworld.launch.kube.LaunchFailed` when the application fails or outlasts
    ``Settings.launch_timeout_s``; a completed one is deleted, a failed one is left to inspect
    (the operator removes it after :data:`TIME_TO_LIVE_S`).
    """
    from components.storage import resolve

    name = pod.job_name(STEP)
    result = pod.result_url(settings, name)
    application = manifest(name, params, settings, result)
    timeout = settings.launch_timeout_s
    (kube or Kube.connect()).run(SPARK_APPLICATION, application, state_of, timeout, pods=pod_selector(name))
    return EtlStepResult.model_validate_json(resolve(result, settings.storage()).read_text())
