"""Create a custom object, wait for it to finish, read its pods' logs: the Kubernetes side of a launch.

:class:`Kube` wraps the kubernetes client's ``CustomObjectsApi`` (and ``CoreV1Api`` for logs);
:meth:`Kube.connect` loads the pod's in-cluster configuration, or the kubeconfig outside a
cluster. Waiting polls the object until a :data:`StateOf` function says it finished, within a
bounded time; a failure or a timeout raises :class:`LaunchFailed` naming the object, its last
condition and the end of its pod's log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

LOG_LINES = 30
"""Lines of a failed pod's log quoted in the error."""


@dataclass(frozen=True)
class Kind:
    """A custom resource's API coordinates."""

    group: str  # e.g. trainer.kubeflow.org
    version: str  # e.g. v1alpha1
    plural: str  # e.g. trainjobs
    kind: str  # e.g. TrainJob

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@dataclass(frozen=True)
class State:
    """Where a launched object is: finished or not, failed or not, and its last condition in words."""

    finished: bool
    failed: bool
    condition: str  # e.g. "Complete: jobs succeeded", "RUNNING", "no status yet"
    pod: str | None = None  # the pod whose log tells what happened (the driver, the first node)


StateOf = Callable[[dict[str, Any]], State]
"""Reads an object's status into a :class:`State`."""


class LaunchFailed(RuntimeError):
    """A launched job failed, timed out or vanished; the message names it and its last condition."""


class Kube:
    """The calls a launch makes: create, get, delete a custom object; find pods; read a log."""

    def __init__(
        self,
        custom: Any,
        core: Any,
        poll_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.custom = custom  # kubernetes.client.CustomObjectsApi (or a fake with the same methods)
        self.core = core  # kubernetes.client.CoreV1Api
        self.poll_s = poll_s  # seconds between two reads of a launched object
        self.clock, self.sleep = clock, sleep  # time as waiting sees it (a fake one in tests)

    @classmethod
    def connect(cls) -> Kube:
        """Clients for this pod's cluster (its ServiceAccount), or the kubeconfig's outside one."""
        from kubernetes import client, config

        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        return cls(client.CustomObjectsApi(), client.CoreV1Api())

    def create(self, kind: Kind, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create ``manifest`` in its namespace; return what the API server stored."""
        namespace = manifest["metadata"]["namespace"]
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            kind.group, kind.version, namespace, kind.plural, manifest
        )
        log.info("created %s %s/%s", kind.kind, namespace, manifest["metadata"]["name"])
        return created

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            kind.group, kind.version, namespace, kind.plural, name
        )
        return found

    def delete(self, kind: Kind, namespace: str, name: str) -> None:
        """Delete the object and, through their owner references, its pods."""
        self.custom.delete_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, name)
        log.info("deleted %s %s/%s", kind.kind, namespace, name)

    def wait(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        state_of: StateOf,
        timeout_s: float,
        pods: str | None = None,
    ) -> State:
        """Poll the object until it finishes; return its final state.

        Raises :class:`LaunchFailed` when it fails (with the end of its pod's log: the state's pod,
        else the first that the label selector ``pods`` matches), when it is gone, or when
        ``timeout_s`` pass first. An API error other than "not found", or an unreachable API server,
        is retried until then.
        """
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        what = f"{kind.kind} {namespace}/{name}"
        deadline = self.clock() + timeout_s
        state = State(finished=False, failed=False, condition="no status yet")
        while True:
            try:
                state = state_of(self.get(kind, namespace, name))
            except ApiException as error:
                if error.status == 404:
                    raise LaunchFailed(f"{what} is gone (deleted while it ran?); last: {state.condition}") from None
                log.warning("reading %s failed (%s %s); trying again", what, error.status, error.reason)
            except (HTTPError, OSError) as error:  # the API server out of reach for a moment
                log.warning("reading %s failed (%s); trying again", what, error)
            if state.finished:
                if state.failed:
                    raise LaunchFailed(f"{what} failed: {state.condition}{self._log_tail(namespace, state, pods)}")
                log.info("%s finished: %s", what, state.condition)
                return state
            left = deadline - self.clock()
            if left <= 0:
                raise LaunchFailed(
                    f"{what} did not finish within {timeout_s:g} s (it is left in place to inspect); "
                    f"last: {state.condition}{self._log_tail(namespace, state, pods)}"
                )
            self.sleep(min(self.poll_s, left))

    def run(self, kind: Kind, manifest: dict[str, Any], state_of: StateOf, timeout_s: float, pods: str) -> State:
        """Create ``manifest``, wait for it (see :meth:`wait`) and delete it once it succeeded.

        A failed or unfinished object is left in place, for its pods and events to be inspected.
        """
        self.create(kind, manifest)
        namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        state = self.wait(kind, namespace, name, state_of, timeout_s, pods=pods)
        self.delete(kind, namespace, name)
        return state

    def first_pod(self, namespace: str, selector: str) -> str | None:
        """The name of the first pod (by name) that ``selector`` matches, or None."""
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector).items or []
        names = sorted(str(pod.metadata.name) for pod in pods)
        return names[0] if names else None

    def _log_tail(self, namespace: str, state: State, pods: str | None) -> str:
        """The last lines of the state's pod (or the first ``pods`` matches), or nothing when unreadable."""
        pod = state.pod
        try:
            if pod is None and pods:
                pod = self.first_pod(namespace, pods)
            if pod is None:
                return ""
            text = self.core.read_namespaced_pod_log(pod, namespace, tail_lines=LOG_LINES)
        except Exception as error:  # the log is a courtesy: its absence must not hide the failure
            log.warning("cannot read the log of %s in %s: %s", pod or pods, namespace, error)
            return ""
        return f"; the last lines of pod {namespace}/{pod}:\n{str(text).rstrip()}" if text else ""
