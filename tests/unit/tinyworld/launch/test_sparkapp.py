"""The ETL as a SparkApplication: a valid manifest whose driver runs the same step, and its result read back."""

from __future__ import annotations

import re
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from components.etl.job import EtlOptions
from components.etl.step import EtlParams, EtlStepResult, ExperimentLogLocation
from components.step import Lineage, Window
from tests.unit.tinyworld.launch.fakes import fake_kube, pod_args
from tinyworld import steps
from tinyworld.deploy.validate import check
from tinyworld.launch import entry, pod, sparkapp
from tinyworld.launch.kube import LaunchFailed
from tinyworld.pipelines.image import IMAGE, IMAGE_SOURCE_ROOT
from tinyworld.settings import SOURCE_ROOT, Settings


def params(settings: Settings) -> EtlParams:
    return steps.etl(settings, date(2026, 1, 3))


def etl_result(given: EtlParams) -> EtlStepResult:
    lineage = Lineage(step="etl", window=Window(start=given.start, end=given.end), params=given.model_dump(mode="json"))
    return EtlStepResult(out=given.out, events=4000, rows={"interactions": 900}, seconds={"read": 1.5}, lineage=lineage)


def test_the_application_is_valid_against_the_operators_schema(cluster: Settings, schemas: Path) -> None:
    """The manifest passes the SparkApplication CRD's schema (v1beta2 of the pinned operator)."""
    manifest = sparkapp.manifest(pod.job_name("etl"), params(cluster), cluster, "memory://x/result.json")
    assert check(manifest, schemas, "1.35.0") == ("crd", [])


def test_the_driver_runs_the_entry_file_of_the_image_with_the_same_parameters(cluster: Settings) -> None:
    """mainApplicationFile is the entry module inside the image; its arguments carry EtlParams that parse back equal."""
    given = EtlParams(
        lake="s3://tinyworld/lake",
        out="s3://tinyworld/artifacts/nightly/dt=2026-01-03/experiment",
        start=date(2026, 1, 3),
        end=date(2026, 1, 3),
        spark_master="k8s://https://kubernetes.default.svc:443",
        options=EtlOptions(tables=("experiments",)),
        experiment_log=ExperimentLogLocation(registry_root="s3://tinyworld/registry"),
    )
    manifest = sparkapp.manifest("tinyworld-etl-x", given, cluster, "memory://x/result.json")
    spec = manifest["spec"]
    assert spec["image"] == IMAGE and spec["type"] == "Python" and spec["mode"] == "cluster"
    assert spec["mainApplicationFile"] == f"local://{IMAGE_SOURCE_ROOT}/platform/tinyworld/launch/entry.py"
    assert (SOURCE_ROOT / "platform" / "tinyworld" / "launch" / "entry.py") == Path(entry.__file__)
    step, *rest = pod_args(manifest)
    named = dict(zip(rest[::2], rest[1::2], strict=True))
    assert step == "etl" and named["--env"] == cluster.name and named["--result"] == "memory://x/result.json"
    assert EtlParams.model_validate_json(named["--params-json"]) == given
    assert spec["sparkVersion"] == metadata.version("pyspark")


def test_sizes_accounts_and_keys_come_from_the_settings(cluster: Settings) -> None:
    """Driver and executors as the settings size them; the driver's ServiceAccount; keys by reference; hardened."""
    sized = cluster.model_copy(
        update={
            "spark_driver_cores": 2,
            "spark_driver_memory": "4g",
            "spark_executor_instances": 3,
            "spark_executor_memory": "8g",
        }
    )
    spec = sparkapp.manifest("n", params(sized), sized, "r")["spec"]
    driver, executor = spec["driver"], spec["executor"]
    assert (driver["cores"], driver["memory"], driver["serviceAccount"]) == (2, "4g", "tinyworld-spark")
    assert (executor["instances"], executor["cores"], executor["memory"]) == (3, 1, "8g")
    for role in (driver, executor):
        env = {var["name"]: var for var in role["env"]}
        assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "tinyworld-runtime"
        assert role["securityContext"]["readOnlyRootFilesystem"] is True
        assert role["podSecurityContext"]["runAsNonRoot"] is True
        assert role["volumeMounts"] == [pod.scratch_mount()]
        assert role["labels"]["tinyworld.dev/launch"] == "n"
    assert spec["volumes"] == [pod.scratch_volume()]
    assert spec["restartPolicy"] == {"type": "Never"}


def test_no_secret_means_no_key_variables(cluster: Settings) -> None:
    """Without a runtime Secret the pods get no key variables (the AWS chain finds the keys)."""
    spec = sparkapp.manifest("n", params(cluster), cluster.model_copy(update={"runtime_secret": None}), "r")["spec"]
    assert [var["name"] for var in spec["driver"]["env"]] == ["HOME"]


@pytest.mark.parametrize(
    ("status", "finished", "failed", "says"),
    [
        ({}, False, False, "not submitted yet"),
        ({"applicationState": {"state": "RUNNING"}, "driverInfo": {"podName": "d"}}, False, False, "RUNNING"),
        ({"applicationState": {"state": "COMPLETED"}}, True, False, "COMPLETED"),
        (
            {"applicationState": {"state": "FAILED", "errorMessage": "driver exited 1"}},
            True,
            True,
            "FAILED: driver exited 1",
        ),
        (
            {"applicationState": {"state": "SUBMISSION_FAILED", "errorMessage": "no SA"}},
            True,
            True,
            "SUBMISSION_FAILED: no SA",
        ),
    ],
)
def test_the_state_follows_the_application_state(
    status: dict[str, Any], finished: bool, failed: bool, says: str
) -> None:
    """COMPLETED ends it well, FAILED and SUBMISSION_FAILED badly, anything else is still on its way."""
    state = sparkapp.state_of({"status": status})
    assert (state.finished, state.failed, state.condition) == (finished, failed, says)


def test_launch_returns_the_result_the_driver_wrote(cluster: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Created, waited for, its result read from the artifacts root, then deleted: the same EtlStepResult."""
    given = params(cluster)
    expected = etl_result(given)

    def step(name: str, params_json: str, io: Any) -> EtlStepResult:
        assert name == "etl" and EtlParams.model_validate_json(params_json) == given
        return expected

    monkeypatch.setattr(entry, "run_step", step)
    states = [{"applicationState": {"state": "SUBMITTED"}}, {"applicationState": {"state": "COMPLETED"}}]
    kube = fake_kube(states, on_create=lambda manifest: entry.main(pod_args(manifest)))
    assert sparkapp.launch(cluster, given, kube) == expected
    (created,) = kube.custom.created
    assert created[:4] == ("sparkoperator.k8s.io", "v1beta2", "tinyworld", "sparkapplications")
    assert kube.custom.deleted == [("sparkapplications", "tinyworld", created[4]["metadata"]["name"])]


def test_a_failed_application_names_itself_its_state_and_its_drivers_log(cluster: Settings) -> None:
    """The error names the application, its state and message and the driver's log; it is left in place."""
    failed = {
        "applicationState": {"state": "FAILED", "errorMessage": "driver container failed"},
        "driverInfo": {"podName": "etl-driver"},
    }
    kube = fake_kube([failed])
    with pytest.raises(
        LaunchFailed, match=r"SparkApplication tinyworld/tinyworld-etl-\S+ failed: FAILED: driver container failed"
    ):
        sparkapp.launch(cluster, params(cluster), kube)
    assert kube.core.logs_read == ["etl-driver"] and kube.core.selectors == []
    assert kube.custom.deleted == []


def test_the_applications_name_fits_the_drivers_pod_name() -> None:
    """The driver pod is `<name>-driver`: the name stays a DNS label well under 63 characters."""
    name = pod.job_name("etl")
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(f"{name}-driver") <= 63
