"""The chart rendered for every profile: valid objects, hardened pods, and the files it embeds."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tinyworld.deploy import chart
from tinyworld.deploy.validate import check
from tinyworld.serving import ClusterArgs

KUBERNETES_VERSION = "1.35.0"
API_CALLERS = {"pipeline-runner", "spark"}
"""Components whose ServiceAccount token is mounted: they launch jobs through the Kubernetes API."""


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every pod template the objects hold, by kind/name: workloads and the RayService's Ray groups."""
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in ("Deployment", "Job"):
            yield name, obj["spec"]["template"]["spec"]
        elif obj["kind"] == "RayService":
            cluster = obj["spec"]["rayClusterConfig"]
            yield name, cluster["headGroupSpec"]["template"]["spec"]
            for group in cluster.get("workerGroupSpecs", []):
                yield f"{name}/{group['groupName']}", group["template"]["spec"]


def test_every_profile_renders_objects_valid_against_their_schemas(
    rendered: dict[str, list[dict[str, Any]]], schemas: Path
) -> None:
    """Core kinds pass kubernetes-validate --strict and custom resources their CRD schemas."""
    for profile, objects in rendered.items():
        assert objects, profile
        for obj in objects:
            how, errors = check(obj, schemas, KUBERNETES_VERSION)
            assert how in ("core", "crd"), (profile, obj["kind"])
            assert errors == [], (profile, obj["kind"], obj["metadata"]["name"])


def test_every_pod_runs_hardened(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """Non-root, no privilege escalation, read-only root, no capabilities, requests and limits, probes."""
    for profile, objects in rendered.items():
        for name, spec in pod_specs(objects):
            where = (profile, name)
            assert spec["securityContext"]["runAsNonRoot"] is True, where
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert spec["automountServiceAccountToken"] is False, where
            for container in spec["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["readOnlyRootFilesystem"] is True, where
                assert context["capabilities"]["drop"] == ["ALL"], where
                assert context["runAsUser"] >= 10000, where
                for bound in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(container["resources"][bound]), where
                if not name.startswith("Job/"):
                    assert "livenessProbe" in container and "readinessProbe" in container, where
                assert any(mount["mountPath"] == "/tmp" for mount in container["volumeMounts"]), where


def test_only_job_launchers_mount_a_service_account_token(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """Every ServiceAccount opts out of the token but those of steps that call the Kubernetes API."""
    for objects in rendered.values():
        for account in chart.find(objects, "ServiceAccount"):
            component = account["metadata"]["labels"]["app.kubernetes.io/component"]
            assert account["automountServiceAccountToken"] is (component in API_CALLERS), component


def test_roles_stay_in_the_namespace_without_secrets_or_wildcards(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """Least privilege: namespaced Roles only, no access to Secrets, no '*' anywhere."""
    for objects in rendered.values():
        assert not chart.find(objects, "ClusterRole") and not chart.find(objects, "ClusterRoleBinding")
        for role in chart.find(objects, "Role"):
            for rule in role["rules"]:
                assert "secrets" not in rule["resources"], role["metadata"]["name"]
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], role["metadata"]["name"]


def test_every_pod_is_under_a_default_deny_policy(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The default-deny policy selects every pod of the release (its selector labels are a subset)."""
    for profile, objects in rendered.items():
        deny = next(p for p in chart.find(objects, "NetworkPolicy") if "ingress" not in p["spec"])
        assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
        selector = deny["spec"]["podSelector"]["matchLabels"].items()
        for obj in objects:
            if obj["kind"] in ("Deployment", "Job"):
                labels = obj["spec"]["template"]["metadata"]["labels"]
            elif obj["kind"] == "RayService":
                labels = obj["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["metadata"]["labels"]
            else:
                continue
            assert selector <= labels.items(), (profile, obj["metadata"]["name"])


def test_the_serve_config_is_a_valid_ray_serve_config_built_by_tinyworld(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """serveConfigV2 passes Ray's own schema, imports the builder, and hands it valid arguments."""
    from ray.serve.schema import ServeDeploySchema

    from tinyworld import serving

    for profile, objects in rendered.items():
        service = chart.one(objects, "RayService")
        config = ServeDeploySchema.model_validate(yaml.safe_load(service["spec"]["serveConfigV2"]))
        (application,) = config.applications
        module, _, attribute = application.import_path.partition(":")
        assert module == serving.__name__ and getattr(serving, attribute) is serving.app
        args = ClusterArgs.model_validate(application.args)
        assert args.env == chart.values(profile)["environment"]["name"]
        assert config.http_options.port == chart.values(profile)["environment"]["servePort"]


def test_a_chart_with_arms_and_an_admin_token_hands_them_to_the_builder(helm: str) -> None:
    """Arms and the admin token's mounted file reach ClusterArgs; the token's Secret is mounted, not inlined."""
    objects = chart.render(
        "kind",
        "--set-json",
        'recommender.arms=[{"name":"control","model":"champion","weight":50},{"name":"treatment","model":"challenger"}]',
        "--set",
        "recommender.adminTokenSecret.name=admin-token",
    )
    service = chart.one(objects, "RayService")
    args = ClusterArgs.model_validate(yaml.safe_load(service["spec"]["serveConfigV2"])["applications"][0]["args"])
    assert [arm["name"] for arm in args.arms or []] == ["control", "treatment"]
    assert args.admin_token_file is not None
    spec = service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    secret = next(volume["secret"] for volume in spec["volumes"] if "secret" in volume)
    assert secret["secretName"] == "admin-token"
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "admin-token")
    assert args.admin_token_file.parent == Path(mount["mountPath"])


def test_the_monitoring_objects_embed_the_rules_and_dashboards_files(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """spec.groups are files/monitoring/rules.yaml's groups; the dashboards ConfigMap has one key per JSON file."""
    monitoring = chart.CHART_DIR / "files" / "monitoring"
    rules = monitoring / "rules.yaml"
    dashboards = sorted(path.name for path in (monitoring / "dashboards").glob("*.json"))
    objects = rendered["kind"]
    if rules.is_file():
        groups = yaml.safe_load(rules.read_text(encoding="utf-8"))["groups"]
        assert chart.one(objects, "PrometheusRule")["spec"]["groups"] == groups
    else:
        assert not chart.find(objects, "PrometheusRule")
    if dashboards:
        configmap = chart.one(objects, "ConfigMap", "monitoring")
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert sorted(configmap["data"]) == dashboards
    assert not chart.find(rendered["minimal"], "PrometheusRule")
    assert not chart.find(rendered["minimal"], "ServiceMonitor")


@pytest.mark.parametrize("monitoring", ["absent", "empty"])
def test_the_chart_renders_without_monitoring_files(helm: str, tmp_path: Path, monitoring: str) -> None:
    """With no rules file (or one without groups) and no dashboards, the chart renders neither object."""
    copy = tmp_path / "tinyworld"
    shutil.copytree(chart.CHART_DIR, copy, ignore=shutil.ignore_patterns("monitoring"))
    if monitoring == "empty":
        (copy / "files" / "monitoring").mkdir()
        (copy / "files" / "monitoring" / "rules.yaml").write_text("groups: []\n", encoding="utf-8")
    args = chart.template_args("kind")
    args[args.index(str(chart.CHART_DIR))] = str(copy)
    args[args.index(str(chart.profile_path("kind")))] = str(copy / "ci" / "kind-values.yaml")
    objects = [doc for doc in yaml.safe_load_all(subprocess.run(args, check=True, capture_output=True).stdout) if doc]
    assert objects and not chart.find(objects, "PrometheusRule")
    assert not chart.find(objects, "ConfigMap", "monitoring")


def test_the_chart_refuses_a_namespace_other_than_the_environments(helm: str) -> None:
    """Installed elsewhere, the environment's DNS names would be wrong: helm template fails and says why."""
    args = chart.template_args("kind")
    args[args.index("--namespace") + 1] = "elsewhere"
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "environment.namespace" in done.stderr


def test_the_notes_say_how_to_reach_the_recommender(helm: str) -> None:
    """NOTES.txt renders for every profile (helm install --dry-run=client) and names the serve Service."""
    for profile in chart.profiles():
        args = chart.template_args(profile)
        args[1] = "install"
        done = subprocess.run([*args, "--dry-run=client"], capture_output=True, text=True, check=True)
        notes = done.stdout.split("NOTES:", 1)[1]
        assert "tinyworld-recommender-serve-svc" in notes and "make ui" in notes, profile
