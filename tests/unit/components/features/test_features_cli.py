"""`tinyworld features`: errors exit with code 2 and a message; values print readably."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from components.features.config import FeatureStoreConfig
from components.features.repo import open_repo
from tests.unit.components.features.conftest import FEATURE_REPO
from tinyworld.commands.features import _cell, app
from tinyworld.settings import Settings
from tinyworld.steps import feature_store as feature_store_config

runner = CliRunner()


@pytest.fixture
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The local environment with its artifacts in a temporary folder."""
    monkeypatch.setenv("TINYWORLD_ARTIFACTS_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TINYWORLD_FEATURE_REPO", str(FEATURE_REPO))
    return tmp_path / "artifacts"


def test_an_unknown_environment_exits_with_2() -> None:
    """--env names a file in platform/environments/; another name is a clear error."""
    result = runner.invoke(app, ["materialize", "--env", "moon"])
    assert result.exit_code == 2 and "unknown environment 'moon'" in result.output


def test_apply_without_the_etl_output_exits_with_2(artifacts: Path, tmp_path: Path) -> None:
    """A missing ETL output is reported with the command that produces it, before Feast runs."""
    result = runner.invoke(app, ["apply", "--etl-out", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "tinyworld etl" in result.output
    assert not (artifacts / "features" / "registry.db").exists()


def test_lookup_before_apply_and_unknown_entities_exit_with_2(artifacts: Path) -> None:
    """Lookups need an applied repository and a known entity."""
    before = runner.invoke(app, ["lookup", "user", "1"])
    assert before.exit_code == 2 and "tinyworld features apply" in before.output
    unknown = runner.invoke(app, ["lookup", "driver", "1"])
    assert unknown.exit_code == 2 and "known entities: user, item, creator" in unknown.output


def test_the_ui_needs_an_applied_repository(artifacts: Path) -> None:
    """`ui` refuses to start a server over an empty registry."""
    result = runner.invoke(app, ["ui", "--port", "18888"])
    assert result.exit_code == 2 and "tinyworld features apply" in result.output


def test_cells_shorten_vectors_and_floats() -> None:
    """Vectors show three values and their length; floats four significant digits; nulls a dash."""
    assert _cell(np.array([0.123456, 1.0, 2.0, 3.0], dtype=np.float32)) == "[0.123, 1, 2, ...] (4)"
    assert _cell([1.0]) == "[1] (1)"
    assert _cell(0.0312345) == "0.03123" and _cell(None) == "-" and _cell(float("nan")) == "-" and _cell(12) == "12"


def test_the_local_environment_maps_to_the_default_store() -> None:
    """Locally: state under <artifacts_root>/features, SQLite, Dask; other fields are the config's defaults."""
    settings = Settings.from_environment("local")
    config = feature_store_config(settings)
    assert config.state == str(Path(settings.artifacts_root).resolve() / "features")
    assert config.source_path() == FEATURE_REPO
    defaults = FeatureStoreConfig()
    assert (config.online_store, config.offline_store, config.redis_url) == (
        defaults.online_store,
        defaults.offline_store,
        defaults.redis_url,
    )


@pytest.mark.parametrize("name", ["kind", "hetzner"])
def test_clusters_map_to_redis_and_spark_over_the_object_store(name: str, tmp_path: Path) -> None:
    """In a cluster: Redis from redis_url, Spark on the environment's master, state and endpoint in the object store."""
    settings = Settings.from_environment(name)
    config = feature_store_config(settings)
    assert config.state == "s3://tinyworld/artifacts/features"
    assert (config.online_store, config.redis_url) == ("redis", settings.redis_url)
    assert (config.offline_store, config.spark_master) == ("spark", settings.spark_master)
    repo = open_repo(config, storage=settings.storage(), workdir=tmp_path)
    assert repo.config["offline_store"]["spark_conf"]["spark.hadoop.fs.s3a.endpoint"] == settings.s3_endpoint_url
    assert repo.registry_path == "s3://tinyworld/artifacts/features/registry.db"


def test_a_redis_url_without_the_redis_store_is_a_clear_error(artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment naming a Redis it does not use is refused, not silently ignored."""
    monkeypatch.setenv("TINYWORLD_REDIS_URL", "redis://r:6379/0")
    result = runner.invoke(app, ["lookup", "user", "1"])
    assert result.exit_code == 2 and "redis_url is set but online_store is 'sqlite'" in result.output


def test_run_without_the_etl_output_exits_with_2(artifacts: Path, tmp_path: Path) -> None:
    """The step command refuses a missing ETL output before Feast writes anything."""
    result = runner.invoke(app, ["run", "--etl-out", str(tmp_path / "missing"), "--state", str(tmp_path / "s")])
    assert result.exit_code == 2 and "tinyworld etl" in result.output
    assert not (tmp_path / "s" / "registry.db").exists()
