"""The compiled pipelines, the image and the chart agree on the image and the names they use."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tinyworld import __version__
from tinyworld.deploy import chart
from tinyworld.launch import pod
from tinyworld.pipelines.client import SCHEDULES
from tinyworld.pipelines.compile import COMPILED_DIR, PIPELINES
from tinyworld.pipelines.image import IMAGE, IMAGE_REPOSITORY
from tinyworld.settings import SOURCE_ROOT, available_environments

DOCKERFILE = SOURCE_ROOT / "platform" / "image" / "Dockerfile"


def containers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every container the chart runs, RayService groups included."""
    found = []
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            found += obj["spec"]["template"]["spec"]["containers"]
        elif obj["kind"] == "RayService":
            found += obj["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"]
    return found


def compiled(name: str) -> dict[str, Any]:
    """The pipeline spec: the first document (the second holds the Kubernetes platform config)."""
    loaded: dict[str, Any] = next(yaml.safe_load_all((COMPILED_DIR / f"{name}.yaml").read_text(encoding="utf-8")))
    return loaded


def test_the_chart_names_the_image_and_version_the_package_does() -> None:
    """Chart.yaml's appVersion is the package version; values name IMAGE_REPOSITORY."""
    meta = yaml.safe_load((chart.CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    values = yaml.safe_load((chart.CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    assert meta["appVersion"] == __version__
    assert values["image"]["repository"] == IMAGE_REPOSITORY and values["image"]["tag"] == ""


def test_every_pipeline_step_and_every_workload_runs_the_same_image(rendered: dict[str, list[dict]]) -> None:
    """Each compiled step's image is IMAGE, and so is every container the chart renders, in every profile."""
    for name in PIPELINES:
        executors = compiled(name)["deploymentSpec"]["executors"]
        assert {executor["container"]["image"] for executor in executors.values()} == {IMAGE}, name
    for profile, objects in rendered.items():
        assert {container["image"] for container in containers(objects)} == {IMAGE}, profile


def test_the_registration_job_schedules_the_compiled_pipelines_in_a_known_environment(
    rendered: dict[str, list[dict]],
) -> None:
    """The Job registers SCHEDULES' pipelines, which are the compiled ones, with an environment that exists."""
    assert set(SCHEDULES) == set(PIPELINES)
    for name in PIPELINES:
        spec = compiled(name)
        assert spec["pipelineInfo"]["name"] == name
        assert "env" in spec["root"]["inputDefinitions"]["parameters"]
    schema = (chart.CHART_DIR / "values.schema.json").read_text(encoding="utf-8")
    for name in PIPELINES:
        assert f'"{name}"' in schema
    for profile, objects in rendered.items():
        job = chart.one(objects, "Job")
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        env = next(arg.removeprefix("--env=") for arg in args if arg.startswith("--env="))
        assert env == chart.values(profile)["environment"]["name"] and env in available_environments(), profile


def test_the_image_runs_as_the_user_the_chart_asks_for() -> None:
    """The Dockerfile's USER is the chart's podSecurity user and group."""
    values = yaml.safe_load((chart.CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    user = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert user is not None
    assert (int(user[1]), int(user[2])) == (values["podSecurity"]["runAsUser"], values["podSecurity"]["runAsGroup"])


def test_the_image_bakes_in_the_version_it_is_built_with() -> None:
    """The version build argument becomes the OCI version label and TINYWORLD_VERSION, and is checked."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert 'org.opencontainers.image.version="${VERSION}"' in text
    assert 'TINYWORLD_VERSION="${VERSION}"' in text
    assert 'print(tinyworld.__version__)\')" = "${VERSION}"' in text
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}$", text, re.MULTILINE)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$", text, re.MULTILINE)


def test_the_launched_pods_policy_selects_the_labels_the_launchers_give(rendered: dict[str, list[dict]]) -> None:
    """The NetworkPolicy of launched pods selects exactly the launcher's labels, and lets only them in."""
    for profile, objects in rendered.items():
        policies = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("launched")]
        if not policies:
            continue
        [policy] = policies
        assert policy["spec"]["podSelector"]["matchLabels"] == pod.PART_OF, profile
        assert policy["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": pod.PART_OF}}]}], profile
    assert any(o["kind"] == "NetworkPolicy" and o["metadata"]["name"].endswith("launched") for o in rendered["kind"]), (
        "the kind profile launches jobs and must police them"
    )
