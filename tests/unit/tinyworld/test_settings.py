"""Settings: each environment loads, TINYWORLD_* overrides win, bad environments fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tinyworld.settings import (
    ENVIRONMENTS_DIR,
    Settings,
    UnknownEnvironmentError,
    available_environments,
)


def test_every_environment_is_described() -> None:
    """The three environments of the design have a file, and nothing else does."""
    assert available_environments() == ["hetzner", "kind", "local"]


@pytest.mark.parametrize("name", ["local", "kind", "hetzner"])
def test_each_environment_loads(name: str) -> None:
    """Each environment file validates and names itself."""
    settings = Settings.from_environment(name)
    assert settings.name == name


def test_local_is_embedded() -> None:
    """Local keeps everything on this machine: paths, local Spark, Ray started here, SQLite."""
    settings = Settings.from_environment("local")
    assert settings.lake_root == "data/lake"
    assert settings.spark_master == "local[*]"
    assert settings.ray_address is None
    assert settings.online_store == "sqlite"
    assert settings.serve_host == "127.0.0.1"


def test_local_file_matches_the_defaults() -> None:
    """The defaults describe the local runtime, so Settings() and the local file agree."""
    assert Settings() == Settings.from_environment("local")


@pytest.mark.parametrize("name", ["kind", "hetzner"])
def test_cluster_environments_use_the_object_store_and_services(name: str) -> None:
    """Cluster environments keep data in s3:// and reach services by in-cluster DNS names."""
    settings = Settings.from_environment(name)
    for root in (settings.lake_root, settings.artifacts_root, settings.registry_root):
        assert root.startswith("s3://")
    assert settings.online_store == "redis"
    assert settings.redis_url is not None and ".svc.cluster.local" in settings.redis_url
    assert settings.ray_address is not None and ".svc.cluster.local" in settings.ray_address


def test_environment_variable_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TINYWORLD_<FIELD> variable wins over the environment file's value."""
    monkeypatch.setenv("TINYWORLD_SERVE_PORT", "9100")
    monkeypatch.setenv("TINYWORLD_LAKE_ROOT", "s3://elsewhere/lake")
    settings = Settings.from_environment("kind")
    assert settings.serve_port == 9100
    assert settings.lake_root == "s3://elsewhere/lake"
    assert settings.spark_master.startswith("k8s://")  # untouched values still come from the file


def test_unknown_environment_names_the_known_ones() -> None:
    """Asking for an environment with no file fails, listing the ones that exist."""
    with pytest.raises(UnknownEnvironmentError, match="known: hetzner, kind, local"):
        Settings.from_environment("staging")


def test_unknown_key_in_a_file_is_rejected(tmp_path: Path) -> None:
    """A typo in an environment file is an error, not a silently ignored setting."""
    (tmp_path / "local.yaml").write_text("name: local\nserve_prot: 9000\n")
    with pytest.raises(ValidationError, match="serve_prot"):
        Settings.from_environment("local", environments_dir=tmp_path)


def test_file_name_and_name_must_agree(tmp_path: Path) -> None:
    """A file cannot describe another environment than the one its name says."""
    (tmp_path / "kind.yaml").write_text("name: hetzner\n")
    with pytest.raises(ValueError, match="must match the file name"):
        Settings.from_environment("kind", environments_dir=tmp_path)


def test_redis_store_needs_a_url() -> None:
    """The Redis online store cannot be chosen without saying where Redis is."""
    with pytest.raises(ValidationError, match="redis_url"):
        Settings(online_store="redis")


def test_environment_files_live_beside_the_package() -> None:
    """The environment files are found from the source tree, wherever the tests run from."""
    assert ENVIRONMENTS_DIR == Path(__file__).resolve().parents[3] / "platform" / "environments"
