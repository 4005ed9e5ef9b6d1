"""The training step as a TrainJob: a valid manifest that runs the same step, and its result read back."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from components.step import Lineage, Window
from components.train.config import TrainConfig
from components.train.step import TrainParams, TrainResult
from tests.unit.tinyworld.launch.fakes import FakeCustom, fake_kube, pod_args
from tinyworld.deploy.validate import check
from tinyworld.launch import entry, pod, trainjob
from tinyworld.launch.kube import LaunchFailed
from tinyworld.pipelines.image import IMAGE
from tinyworld.settings import Settings

NIGHT = "s3://tinyworld/artifacts/nightly/dt=2026-01-03"


def params(nproc: int = 2) -> TrainParams:
    etl = Lineage(step="etl", window=Window(start=date(2026, 1, 1), end=date(2026, 1, 3)))
    return TrainParams(
        interactions=f"{NIGHT}/split/train.parquet",
        out=f"{NIGHT}/model",
        items=f"{NIGHT}/etl/item_features",
        users=f"{NIGHT}/etl/user_features",
        config=TrainConfig(epochs=2, dim=16),
        nproc=nproc,
        upstream=[Lineage(step="split", upstream=[etl]), etl],
    )


def trained(given: TrainParams) -> TrainResult:
    lineage = Lineage(step="train", params=given.model_dump(mode="json", exclude={"upstream"}), upstream=given.upstream)
    summary = {"version": "v7", "rows": 120, "world_size": given.nproc}
    return TrainResult(model=given.out, version="v7", card=f"{given.out}/card.md", summary=summary, lineage=lineage)


def test_the_trainjob_is_valid_against_the_trainers_schema(cluster: Settings, schemas: Path) -> None:
    """The manifest passes the TrainJob CRD's schema (v1alpha1 of the pinned Trainer), GPU or not."""
    for gpus in (0, 1):
        settings = cluster.model_copy(update={"train_gpus": gpus})
        manifest = trainjob.manifest(pod.job_name("train"), params(), settings, "memory://x/result.json")
        how, errors = check(manifest, schemas, "1.35.0")
        assert (how, errors) == ("crd", [])


def test_the_trainjobs_name_is_a_dns_label(cluster: Settings) -> None:
    """The Trainer's CEL rules: an RFC 1035 label of at most 63 characters."""
    name = pod.job_name("train")
    manifest = trainjob.manifest(name, params(), cluster, "memory://x/result.json")
    assert manifest["metadata"]["name"] == name
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63


def test_the_node_runs_the_step_with_the_same_parameters(cluster: Settings) -> None:
    """The node runs the entry module in the platform's image, handed the TrainParams that parse back equal."""
    given = params()
    manifest = trainjob.manifest("tinyworld-train-x", given, cluster, "memory://x/result.json")
    spec = manifest["spec"]["trainer"]
    assert spec["image"] == IMAGE
    assert spec["command"] == ["python", "-m", "tinyworld.launch.entry"]
    args = entry_parser_args(pod_args(manifest))
    assert args["step"] == "train" and args["env"] == cluster.name and args["result"] == "memory://x/result.json"
    assert TrainParams.model_validate_json(args["params_json"]) == given
    assert spec["numNodes"] == 1 and spec["numProcPerNode"] == given.nproc


def entry_parser_args(argv: list[str]) -> dict[str, Any]:
    """The entry module's arguments by name, as its parser reads them."""
    step, *rest = argv
    pairs = dict(zip(rest[::2], rest[1::2], strict=True))
    return {"step": step, **{key.removeprefix("--").replace("-", "_"): value for key, value in pairs.items()}}


def test_resources_come_from_the_settings_and_a_gpu_only_when_asked(cluster: Settings) -> None:
    """CPU and memory requested and limited alike; nvidia.com/gpu only with train_gpus > 0."""
    cpu_only = trainjob.manifest("n", params(), cluster, "r")["spec"]["trainer"]["resourcesPerNode"]
    assert cpu_only == {
        "requests": {"cpu": cluster.train_cpu, "memory": cluster.train_memory},
        "limits": {"cpu": cluster.train_cpu, "memory": cluster.train_memory},
    }
    gpu = cluster.model_copy(update={"train_gpus": 1, "train_cpu": "8", "train_memory": "16Gi"})
    bounds = trainjob.manifest("n", params(), gpu, "r")["spec"]["trainer"]["resourcesPerNode"]
    assert bounds["requests"] == bounds["limits"] == {"cpu": "8", "memory": "16Gi", "nvidia.com/gpu": "1"}


def test_the_pods_are_hardened_and_get_the_keys_by_reference(cluster: Settings) -> None:
    """The runtime patch makes the node non-root with a read-only root and /tmp; keys come from the Secret."""
    manifest = trainjob.manifest("n", params(), cluster, "r")
    spec = manifest["spec"]
    assert spec["runtimeRef"] == {
        "apiGroup": "trainer.kubeflow.org",
        "kind": "ClusterTrainingRuntime",
        "name": "torch-distributed",
    }
    (patch,) = spec["runtimePatches"]
    (job,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    assert job["name"] == trainjob.NODE
    pod_spec = job["template"]["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == cluster.train_service_account
    assert pod_spec["securityContext"]["runAsNonRoot"] is True
    (container,) = pod_spec["containers"]
    assert container["name"] == trainjob.NODE
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["volumeMounts"] == [{"name": pod.SCRATCH, "mountPath": "/tmp"}]
    env = {var["name"]: var for var in spec["trainer"]["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "tinyworld-runtime",
        "key": "AWS_SECRET_ACCESS_KEY",
    }
    assert "value" not in env["AWS_ACCESS_KEY_ID"]
    assert spec["activeDeadlineSeconds"] == cluster.launch_timeout_s


@pytest.mark.parametrize(
    ("conditions", "finished", "failed", "says"),
    [
        ([], False, False, "no conditions yet"),
        (
            [{"type": "Suspended", "status": "False", "reason": "Resumed", "lastTransitionTime": "t1"}],
            False,
            False,
            "Suspended=False (Resumed)",
        ),
        (
            [{"type": "Complete", "status": "True", "reason": "JobsCompleted", "message": "done"}],
            True,
            False,
            "Complete=True (JobsCompleted): done",
        ),
        (
            [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "node-0 exited 1"}],
            True,
            True,
            "Failed=True (BackoffLimitExceeded): node-0 exited 1",
        ),
    ],
)
def test_the_state_follows_the_trainjobs_conditions(
    conditions: list[dict[str, str]], finished: bool, failed: bool, says: str
) -> None:
    """Complete or Failed true ends the job; otherwise the latest condition is what the job is doing."""
    state = trainjob.state_of({"status": {"conditions": conditions}})
    assert (state.finished, state.failed, state.condition) == (finished, failed, says)


def test_launch_returns_the_result_the_node_wrote(cluster: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Created, waited for, its result read from the artifacts root, then deleted: the same TrainResult as locally."""
    given = params()
    expected = trained(given)

    def step(name: str, params_json: str, io: Any) -> TrainResult:
        assert name == "train" and TrainParams.model_validate_json(params_json) == given
        return expected

    monkeypatch.setattr(entry, "run_step", step)
    running = {"conditions": [{"type": "Created", "status": "True", "lastTransitionTime": "t0"}]}
    complete = {"conditions": [{"type": "Complete", "status": "True", "reason": "JobsCompleted"}]}
    kube = fake_kube([running, complete], on_create=lambda manifest: entry.main(pod_args(manifest)))
    result = trainjob.launch(cluster, given, kube)
    assert result == expected
    custom: FakeCustom = kube.custom
    ((group, version, namespace, plural, body),) = custom.created
    assert (group, version, namespace, plural) == ("trainer.kubeflow.org", "v1alpha1", "tinyworld", "trainjobs")
    assert custom.deleted == [("trainjobs", "tinyworld", body["metadata"]["name"])]
    assert pod.result_url(cluster, body["metadata"]["name"]).startswith(f"{cluster.artifacts_root}/launched/")


def test_a_failed_trainjob_names_itself_its_condition_and_its_log(cluster: Settings) -> None:
    """The error names the TrainJob, its Failed condition and the node's last log lines; it is not deleted."""
    failed = {"conditions": [{"type": "Failed", "status": "True", "reason": "JobsFailed", "message": "node exited 1"}]}
    kube = fake_kube([failed])
    with pytest.raises(LaunchFailed) as raised:
        trainjob.launch(cluster, params(), kube)
    message = str(raised.value)
    name = kube.custom.created[0][4]["metadata"]["name"]
    assert f"TrainJob tinyworld/{name} failed: Failed=True (JobsFailed): node exited 1" in message
    assert "TrainingDataError: interactions is empty" in message
    assert kube.core.selectors == [f"jobset.sigs.k8s.io/jobset-name={name}"]
    assert kube.custom.deleted == []
