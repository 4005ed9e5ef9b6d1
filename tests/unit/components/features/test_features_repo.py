"""feature_store.yaml rendered from Settings: one per environment, valid for Feast, outside the source tree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from feast.repo_config import load_repo_config

from components.features.errors import DefinitionsError, UnknownEntityError
from components.features.repo import (
    FEATURE_STORE_YAML,
    load_definitions,
    open_repo,
    redis_connection_string,
    render_config,
)
from tests.unit.components.features.conftest import FEATURE_REPO
from tinyworld.settings import Settings


def local(tmp_path: Path) -> Settings:
    """The local environment with its artifacts in ``tmp_path``."""
    return Settings.from_environment("local").model_copy(
        update={"artifacts_root": str(tmp_path / "artifacts"), "feature_repo": str(FEATURE_REPO)}
    )


def test_local_renders_sqlite_and_files_under_the_artifacts(tmp_path: Path) -> None:
    """Locally the registry and SQLite online store live under <artifacts_root>/features, absolute."""
    repo = open_repo(local(tmp_path))
    state = (tmp_path / "artifacts" / "features").resolve()
    assert repo.workdir == state and repo.yaml_path == state / FEATURE_STORE_YAML
    assert repo.config["online_store"] == {"type": "sqlite", "path": f"{state}/online_store.db"}
    assert repo.config["registry"]["path"] == f"{state}/registry.db"
    assert repo.offline_store == "file" and repo.online_store_path == state / "online_store.db"
    assert not str(repo.workdir).startswith(str(FEATURE_REPO))
    assert repo.ui_command().startswith(f"feast -c {state} ui")


@pytest.mark.parametrize("name", ["kind", "hetzner"])
def test_clusters_render_redis_and_spark_over_the_object_store(name: str) -> None:
    """In a cluster: Redis from redis_url, Spark on the environment's master, the registry in the object store."""
    settings = Settings.from_environment(name)
    config = render_config(settings, "tinyworld", "s3://tinyworld/artifacts/features")
    assert config["online_store"] == {
        "type": "redis",
        "connection_string": "redis-master.tinyworld.svc.cluster.local:6379,db=0",
    }
    assert config["offline_store"]["type"] == "spark"
    conf = config["offline_store"]["spark_conf"]
    assert conf["spark.master"] == settings.spark_master
    assert conf["spark.hadoop.fs.s3a.endpoint"] == settings.s3_endpoint_url
    assert config["registry"]["path"] == "s3://tinyworld/artifacts/features/registry.db"


@pytest.mark.parametrize("name", ["local", "kind", "hetzner"])
def test_every_environment_renders_a_config_feast_accepts(name: str, tmp_path: Path) -> None:
    """Feast's own loader parses each rendered feature_store.yaml (online and offline store types resolved)."""
    settings = Settings.from_environment(name).model_copy(update={"feature_repo": str(FEATURE_REPO)})
    if name == "local":
        settings = local(tmp_path)
    repo = open_repo(settings, workdir=tmp_path / "work")
    config = load_repo_config(repo.workdir, repo.yaml_path)
    assert config.project == "tinyworld"
    assert config.online_store.type == ("sqlite" if name == "local" else "redis")
    assert config.offline_store.type == ("file" if name == "local" else "spark")


def test_rendering_is_idempotent(tmp_path: Path) -> None:
    """Opening twice leaves the file as it was (no rewrite); it says it is generated."""
    first = open_repo(local(tmp_path))
    stamp = first.yaml_path.stat().st_mtime_ns
    second = open_repo(local(tmp_path))
    assert second.yaml_path.stat().st_mtime_ns == stamp
    text = first.yaml_path.read_text(encoding="utf-8")
    assert text.startswith("# Rendered by") and yaml.safe_load(text) == first.config


def test_sqlite_needs_a_local_state_directory() -> None:
    """The SQLite online store cannot live in an object store."""
    with pytest.raises(ValueError, match="local state directory"):
        render_config(Settings(), "tinyworld", "s3://bucket/features")


def test_redis_urls_become_feast_connection_strings() -> None:
    """Host, port, database, credentials and TLS carry over; other schemes are refused."""
    assert redis_connection_string("redis://r:6380/2") == "r:6380,db=2"
    assert redis_connection_string("redis://localhost") == "localhost:6379,db=0"
    assert redis_connection_string("rediss://app:s%40cret@r/1") == "r:6379,db=1,username=app,password=s@cret,ssl=true"
    with pytest.raises(ValueError, match="redis://host:port/db"):
        redis_connection_string("http://r:6379")


def test_definitions_errors_say_what_is_missing(tmp_path: Path) -> None:
    """A folder without definitions.py, or one missing a declaration, is a DefinitionsError."""
    with pytest.raises(DefinitionsError, match="no definitions.py"):
        load_definitions(tmp_path)
    (tmp_path / "definitions.py").write_text("PROJECT = 'x'\n", encoding="utf-8")
    with pytest.raises(DefinitionsError, match="PROJECT, ENTITIES and VIEWS"):
        load_definitions(tmp_path)


def test_entities_resolve_by_name_or_join_key() -> None:
    """views_of accepts 'user' or 'user_id'; an unknown entity lists the known ones."""
    defs = load_definitions(FEATURE_REPO)
    assert [v.name for v in defs.views_of("user")] == [v.name for v in defs.views_of("user_id")] == ["user_features"]
    with pytest.raises(UnknownEntityError, match="known entities: user, item, creator"):
        defs.views_of("driver")
    with pytest.raises(UnknownEntityError, match="unknown feature view"):
        defs.view("driver_stats")
