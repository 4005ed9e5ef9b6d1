"""Fakes for the launchers' tests: the Kubernetes API, a clock, and what a launched pod is handed.

No cluster exists here: :class:`FakeCustom` stands for ``CustomObjectsApi`` (it keeps what was
created and answers each read with the next of a scripted list of statuses) and :class:`FakeCore`
for ``CoreV1Api`` (a pod and its log). A launched pod is simulated by running the entry module with
the arguments the manifest hands its container (:func:`pod_args`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from tinyworld.launch.kube import Kube


def api_exception(status: int) -> Exception:
    from kubernetes.client.exceptions import ApiException

    return ApiException(status=status, reason={404: "Not Found", 500: "Internal Server Error"}.get(status, "Error"))


class FakeCustom:
    """``CustomObjectsApi`` with what a launch calls; ``statuses`` answer successive reads.

    An item of ``statuses`` is a status dict, or an exception to raise for that read. The last
    item answers every later read. ``on_create(manifest)`` runs when an object is created (the pod).
    """

    def __init__(self, statuses: list[Any], on_create: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.statuses = list(statuses)
        self.on_create = on_create
        self.created: list[tuple[str, str, str, str, dict[str, Any]]] = []
        self.deleted: list[tuple[str, str, str]] = []
        self.reads = 0

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        self.created.append((group, version, namespace, plural, body))
        if self.on_create:
            self.on_create(body)
        return body

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> dict[str, Any]:
        self.reads += 1
        answer = self.statuses[min(self.reads, len(self.statuses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        body = next(b for *_, b in self.created if b["metadata"]["name"] == name)
        return {**body, "status": answer}

    def delete_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str) -> Any:
        self.deleted.append((plural, namespace, name))
        return {}


class FakeCore:
    """``CoreV1Api``: one pod per selector asked for, and its log."""

    def __init__(
        self, log: str = "Traceback (most recent call last):\nTrainingDataError: interactions is empty"
    ) -> None:
        self.log = log
        self.selectors: list[str] = []
        self.logs_read: list[str] = []

    def list_namespaced_pod(self, namespace: str, label_selector: str) -> Any:
        self.selectors.append(label_selector)
        return SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(name="job-node-0-0-abcde"))])

    def read_namespaced_pod_log(self, name: str, namespace: str, tail_lines: int) -> str:
        self.logs_read.append(name)
        return self.log


def fake_kube(
    statuses: list[Any], on_create: Callable[[dict[str, Any]], object] | None = None, clock: Clock | None = None
) -> Kube:
    """A :class:`Kube` on the fakes, its waiting on ``clock`` (a fresh one by default): no real sleep."""
    clock = clock or Clock()
    return Kube(FakeCustom(statuses, on_create), FakeCore(), poll_s=5.0, clock=clock, sleep=clock.sleep)


class Clock:
    """A clock that advances only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pod_args(manifest: dict[str, Any]) -> list[str]:
    """The arguments a launched pod's entry module gets: a TrainJob's trainer args, an application's arguments."""
    spec = manifest["spec"]
    args = spec["trainer"]["args"] if manifest["kind"] == "TrainJob" else spec["arguments"]
    return [str(arg) for arg in args]
