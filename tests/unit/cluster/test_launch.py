"""The chart and the launchers agree: the pipeline's steps may launch their jobs, which use the chart's names."""

from __future__ import annotations

from typing import Any

import pytest

from tinyworld.deploy import chart
from tinyworld.launch import sparkapp, trainjob
from tinyworld.settings import Settings


def verbs(role: dict[str, Any], group: str, resource: str) -> set[str]:
    """What ``role`` allows on ``resource`` of API ``group``."""
    return {
        verb
        for rule in role["rules"]
        if group in rule["apiGroups"] and resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_kfps_account_may_launch_and_follow_the_nights_jobs(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """KFP's step pods run as kfp.serviceAccount in kfp.namespace: the runner Role is bound to that account,
    and allows what a launch calls (create, get, delete; the pods' logs for a failure's message)."""
    for profile in chart.CLUSTERS:
        objects, values = rendered[profile], chart.values(profile)
        binding = chart.one(objects, "RoleBinding", "pipeline-runner")
        kfp = {
            "kind": "ServiceAccount",
            "name": values["kfp"]["serviceAccount"],
            "namespace": values["kfp"]["namespace"],
        }
        assert kfp in binding["subjects"], profile
        role = chart.one(objects, "Role", "pipeline-runner")
        for kind in (trainjob.TRAINJOB, sparkapp.SPARK_APPLICATION):
            assert {"create", "get", "delete"} <= verbs(role, kind.group, kind.plural), (profile, kind.kind)
        assert "list" in verbs(role, "", "pods") and "get" in verbs(role, "", "pods/log"), profile


def test_the_environment_names_the_charts_accounts_secret_and_namespace(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """Each cluster environment launches both steps with the ServiceAccounts, Secret and namespace the chart makes."""
    for profile in chart.CLUSTERS:
        settings, objects = Settings.from_environment(profile), rendered[profile]
        assert (settings.train_launcher, settings.etl_launcher) == ("trainjob", "spark-operator"), profile
        assert settings.namespace == chart.namespace(profile)
        assert settings.runtime_secret == chart.values(profile)["runtimeSecret"]
        spark = chart.one(objects, "ServiceAccount", "spark")
        trainer = chart.one(objects, "ServiceAccount", "trainer")
        assert settings.spark_service_account == spark["metadata"]["name"], profile
        assert settings.train_service_account == trainer["metadata"]["name"], profile
        assert trainer["automountServiceAccountToken"] is False, profile


def test_the_gpu_server_trains_on_its_gpu_and_the_laptop_on_cpu() -> None:
    """Hetzner's environment asks the TrainJob for the GPU; kind's does not."""
    hetzner, kind = Settings.from_environment("hetzner"), Settings.from_environment("kind")
    assert hetzner.train_gpus == 1 and kind.train_gpus == 0
    manifest = trainjob.manifest("n", trainjob_params(), hetzner, "s3://b/r.json")
    assert manifest["spec"]["trainer"]["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == "1"


def trainjob_params() -> Any:
    from components.train.step import TrainParams

    return TrainParams(interactions="s3://b/i", out="s3://b/m")


def test_the_minimal_profile_launches_nothing(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """Without the runner's RBAC the steps run in their own pods: no trainer account, launchers off."""
    objects = rendered["minimal"]
    assert not chart.find(objects, "ServiceAccount", "trainer")
    settings_text = chart.one(objects, "ConfigMap", "environment")["data"]
    (text,) = settings_text.values()
    assert "train_launcher: process" in text and "etl_launcher: inline" in text


@pytest.mark.parametrize(
    ("override", "says"),
    [
        (["--set", "pipelines.runner.enabled=false"], "needs pipelines.runner.enabled"),
        (["--set", "pipelines.spark.enabled=false"], "needs pipelines.spark.enabled"),
    ],
)
def test_the_chart_refuses_a_launcher_without_its_rbac(helm: str, override: list[str], says: str) -> None:
    """Launching jobs with the runner's or the drivers' account switched off fails to render, saying why."""
    with pytest.raises(chart.HelmError, match=says):
        chart.render("kind", *override)
