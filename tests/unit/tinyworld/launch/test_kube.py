"""Waiting for a launched object: bounded, with errors that name the object, its last condition and its log."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.tinyworld.launch.fakes import Clock, FakeCore, FakeCustom, api_exception, fake_kube
from tinyworld.launch import kube, trainjob
from tinyworld.launch.kube import Kube, LaunchFailed

RUNNING = {"conditions": [{"type": "Created", "status": "True", "reason": "JobsCreated", "lastTransitionTime": "t0"}]}
COMPLETE = {"conditions": [{"type": "Complete", "status": "True", "reason": "JobsCompleted"}]}
MANIFEST = {
    "apiVersion": "trainer.kubeflow.org/v1alpha1",
    "kind": "TrainJob",
    "metadata": {"name": "job", "namespace": "ns"},
}


def created(statuses: list[Any], clock: Clock | None = None) -> Kube:
    """A fake API that already holds the TrainJob ``ns/job``."""
    api = fake_kube(statuses, clock=clock)
    api.create(trainjob.TRAINJOB, MANIFEST)
    return api


def wait(api: Kube, timeout_s: float = 60.0) -> kube.State:
    return api.wait(
        trainjob.TRAINJOB, "ns", "job", trainjob.state_of, timeout_s, pods="jobset.sigs.k8s.io/jobset-name=job"
    )


def test_waiting_polls_until_the_object_finishes() -> None:
    """Each read a poll interval apart; the final state comes back once Complete is true."""
    clock = Clock()
    api = created([RUNNING, RUNNING, COMPLETE], clock)
    state = wait(api)
    assert state.finished and not state.failed
    assert clock.slept == [5.0, 5.0]


def test_a_timeout_names_the_object_and_its_last_condition() -> None:
    """Past the bound the error names the object, the time, its last condition and its pod's log."""
    clock = Clock()
    api = created([RUNNING], clock)
    with pytest.raises(LaunchFailed) as raised:
        wait(api, timeout_s=12)
    message = str(raised.value)
    assert message.startswith(
        "TrainJob ns/job did not finish within 12 s (it is left in place to inspect); last: Created=True (JobsCreated)"
    )
    assert "the last lines of pod ns/job-node-0-0-abcde" in message
    assert clock.now == 12 and clock.slept == [5.0, 5.0, 2.0]


def test_a_vanished_object_is_a_failure() -> None:
    """Deleted while it ran (404): the error says so, with what was last seen."""
    api = created([RUNNING, api_exception(404)])
    with pytest.raises(LaunchFailed, match=r"TrainJob ns/job is gone .*; last: Created=True \(JobsCreated\)"):
        wait(api)


def test_an_api_error_is_tried_again() -> None:
    """A 500 from the API server, or no answer at all, does not end the wait: the next read decides."""
    from urllib3.exceptions import ProtocolError

    api = created([api_exception(500), ProtocolError("connection reset by the API server"), COMPLETE])
    assert wait(api).finished


def test_an_unreadable_log_leaves_the_failure_as_it_is() -> None:
    """A log that cannot be read only drops the quote: the failure still names the object and condition."""

    class NoLogs(FakeCore):
        def read_namespaced_pod_log(self, name: str, namespace: str, tail_lines: int) -> str:
            raise api_exception(403)

    failed = {"conditions": [{"type": "Failed", "status": "True", "message": "boom"}]}
    api = Kube(FakeCustom([failed]), NoLogs(), clock=Clock(), sleep=Clock().sleep)
    api.create(trainjob.TRAINJOB, MANIFEST)
    with pytest.raises(LaunchFailed) as raised:
        wait(api)
    assert str(raised.value) == "TrainJob ns/job failed: Failed=True: boom"


def test_run_deletes_only_what_succeeded() -> None:
    """create + wait + delete on success; a failure leaves the object for inspection."""
    ok = fake_kube([COMPLETE])
    ok.run(trainjob.TRAINJOB, MANIFEST, trainjob.state_of, 60, pods="x")
    assert ok.custom.deleted == [("trainjobs", "ns", "job")]
    bad = fake_kube([{"conditions": [{"type": "Failed", "status": "True"}]}])
    with pytest.raises(LaunchFailed):
        bad.run(trainjob.TRAINJOB, MANIFEST, trainjob.state_of, 60, pods="x")
    assert bad.custom.deleted == []


def test_connect_uses_the_pods_account_or_else_the_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pod: the in-cluster configuration; outside one: the kubeconfig. The clients are the API's."""
    from kubernetes import client, config

    loaded: list[str] = []

    def not_in_a_pod() -> None:
        loaded.append("in-cluster")
        raise config.ConfigException("not in a pod")

    monkeypatch.setattr(config, "load_incluster_config", not_in_a_pod)
    monkeypatch.setattr(config, "load_kube_config", lambda: loaded.append("kubeconfig"))
    monkeypatch.setattr(client, "CustomObjectsApi", lambda: "custom")
    monkeypatch.setattr(client, "CoreV1Api", lambda: "core")
    api = Kube.connect()
    assert loaded == ["in-cluster", "kubeconfig"]
    assert (api.custom, api.core) == ("custom", "core")
