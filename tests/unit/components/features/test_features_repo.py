"""feature_store.yaml rendered from a FeatureStoreConfig: valid for Feast, outside the source tree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from feast.repo_config import load_repo_config

from components.features.config import FeatureStoreConfig
from components.features.errors import DefinitionsError, UnknownEntityError
from components.features.repo import (
    FEATURE_STORE_YAML,
    default_workdir,
    load_definitions,
    open_repo,
    redis_connection_string,
    render_config,
)
from components.storage import StorageOptions
from tests.unit.components.features.conftest import FEATURE_REPO

CLUSTER = FeatureStoreConfig(
    source_dir=str(FEATURE_REPO),
    state="s3://tinyworld/artifacts/features",
    online_store="redis",
    redis_url="redis://redis-master.tinyworld.svc.cluster.local:6379/0",
    offline_store="spark",
    spark_master="k8s://https://kubernetes.default.svc:443",
)
"""A cluster's feature store: state in the object store, Redis online, Spark offline."""

MINIO = StorageOptions(s3_endpoint_url="http://minio:9000", s3_region="eu-central-1", s3_access_key_id="key")


def local(tmp_path: Path) -> FeatureStoreConfig:
    """The default (local) feature store with its state in ``tmp_path``."""
    return FeatureStoreConfig(source_dir=str(FEATURE_REPO), state=str(tmp_path / "features"))


def test_local_renders_sqlite_and_files_under_the_state_folder(tmp_path: Path) -> None:
    """Locally the registry and SQLite online store live in the state folder, absolute; the yaml goes there too."""
    repo = open_repo(local(tmp_path))
    state = (tmp_path / "features").resolve()
    assert repo.workdir == state and repo.yaml_path == state / FEATURE_STORE_YAML
    assert repo.config["online_store"] == {"type": "sqlite", "path": f"{state}/online_store.db"}
    assert repo.config["registry"]["path"] == f"{state}/registry.db"
    assert repo.offline_store == "file" and repo.online_store_path == state / "online_store.db"
    assert not str(repo.workdir).startswith(str(FEATURE_REPO))
    assert repo.ui_command().startswith(f"feast -c {state} ui")
    assert repo.definitions.project == "tinyworld" and not repo.registry_exists()


def test_a_cluster_renders_redis_and_spark_over_the_object_store() -> None:
    """Redis from redis_url, Spark on the config's master with the storage's endpoint, the registry in the bucket."""
    config = render_config(CLUSTER, "tinyworld", MINIO)
    assert config["online_store"] == {
        "type": "redis",
        "connection_string": "redis-master.tinyworld.svc.cluster.local:6379,db=0",
    }
    assert config["offline_store"]["type"] == "spark"
    conf = config["offline_store"]["spark_conf"]
    assert conf["spark.master"] == CLUSTER.spark_master
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "eu-central-1"
    assert not any("key" in name for name in conf), "credentials are never written to feature_store.yaml"
    assert config["registry"]["path"] == "s3://tinyworld/artifacts/features/registry.db"


@pytest.mark.parametrize("remote", [False, True])
def test_every_config_renders_a_file_feast_accepts(remote: bool, tmp_path: Path) -> None:
    """Feast's own loader parses the rendered feature_store.yaml (online and offline store types resolved)."""
    config = CLUSTER if remote else local(tmp_path)
    repo = open_repo(config, storage=MINIO, workdir=tmp_path / "work")
    loaded = load_repo_config(repo.workdir, repo.yaml_path)
    assert loaded.project == "tinyworld"
    assert loaded.online_store.type == ("redis" if remote else "sqlite")
    assert loaded.offline_store.type == ("spark" if remote else "file")
    assert repo.storage == MINIO


def test_a_remote_state_renders_into_a_local_folder_named_after_it(tmp_path: Path) -> None:
    """The yaml of state in an object store goes to a local folder per state URL (s3a:// and s3:// alike)."""
    named = default_workdir("s3a://tinyworld/artifacts/features/")
    assert named == Path("data/features/s3_tinyworld_artifacts_features")
    assert named == default_workdir("s3://tinyworld/artifacts/features")
    assert default_workdir(str(tmp_path / "x")) == tmp_path / "x"


def test_the_project_can_be_overridden(tmp_path: Path) -> None:
    """A config's project replaces the definitions' PROJECT (two environments sharing one registry or Redis)."""
    repo = open_repo(local(tmp_path).model_copy(update={"project": "staging"}))
    assert repo.definitions.project == "staging" and repo.config["project"] == "staging"


def test_rendering_is_idempotent(tmp_path: Path) -> None:
    """Opening twice leaves the file as it was (no rewrite); it says it is generated."""
    first = open_repo(local(tmp_path))
    stamp = first.yaml_path.stat().st_mtime_ns
    second = open_repo(local(tmp_path))
    assert second.yaml_path.stat().st_mtime_ns == stamp
    text = first.yaml_path.read_text(encoding="utf-8")
    assert text.startswith("# Rendered by") and yaml.safe_load(text) == first.config


def test_redis_urls_become_feast_connection_strings() -> None:
    """Host, port, database, credentials and TLS carry over; other schemes are refused."""
    assert redis_connection_string("redis://r:6380/2") == "r:6380,db=2"
    assert redis_connection_string("redis://localhost") == "localhost:6379,db=0"
    assert redis_connection_string("rediss://app:s%40cret@r/1") == "r:6379,db=1,username=app,password=s@cret,ssl=true"
    with pytest.raises(ValueError, match="redis://host:port/db"):
        redis_connection_string("http://r:6379")
    with pytest.raises(ValueError, match=r"redis://host:port/db, not 'redis://:\*\*\*@r/zero'"):
        redis_connection_string("redis://:secret@r/zero")  # the password never reaches a message


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
