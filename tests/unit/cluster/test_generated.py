"""Generated files do not drift from their one source: the Serve config and the cluster environments."""

from __future__ import annotations

from pathlib import Path

from tinyworld.deploy import chart, environments, serve_config
from tinyworld.settings import ENVIRONMENTS_DIR, Settings


def test_the_charts_serve_config_is_generated_from_the_local_deployment() -> None:
    """charts/tinyworld/files/serve.yaml is what `make chart-config` writes now (CI fails on drift)."""
    assert serve_config.GENERATED.read_text(encoding="utf-8") == serve_config.render(), (
        "files/serve.yaml is out of date: run `make chart-config` and commit it"
    )


def test_the_cluster_serve_environment_is_the_local_one_without_direct_ingress() -> None:
    """Only direct ingress (the single-host path) and its port range differ from `tinyworld serve`'s Ray."""
    from components.serving.deployment import ray_environment

    local, cluster = ray_environment(8000), serve_config.cluster_environment()
    assert cluster[serve_config.DIRECT_INGRESS] == "0"
    assert {key: value for key, value in local.items() if key in cluster and key != serve_config.DIRECT_INGRESS} == {
        key: value for key, value in cluster.items() if key != serve_config.DIRECT_INGRESS
    }


def test_the_cluster_environments_are_generated_from_the_chart(helm: str) -> None:
    """platform/environments/{kind,hetzner}.yaml are the chart's rendering (`make environments`)."""
    assert environments.stale() == [], "run `make environments` and commit the files"


def test_the_generated_environments_load_and_name_the_charts_services(
    helm: str, rendered: dict[str, list[dict]]
) -> None:
    """Each cluster environment's Ray address names the head Service of the RayService the chart deploys."""
    for profile in chart.CLUSTERS:
        settings = Settings.from_environment(profile)
        service = chart.one(rendered[profile], "RayService")["metadata"]["name"]
        namespace = chart.namespace(profile)
        assert settings.ray_address is not None and f"{service}-head-svc.{namespace}." in settings.ray_address
        assert settings.serve_port == chart.values(profile)["environment"]["servePort"]


def test_a_changed_value_shows_as_drift(helm: str, tmp_path: Path) -> None:
    """A file that differs from the rendering (here: another Redis host) is reported stale."""
    for profile in chart.CLUSTERS:
        text = (ENVIRONMENTS_DIR / f"{profile}.yaml").read_text(encoding="utf-8")
        (tmp_path / f"{profile}.yaml").write_text(text.replace("redis-master", "redis-elsewhere"), encoding="utf-8")
    assert environments.stale(tmp_path) == list(chart.CLUSTERS)
