"""The recommender's configuration from settings, shared by `tinyworld serve` and the cluster's builder."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from components.serving.config import ServingConfig
from tinyworld.serving import INGEST_STATE_FILE, ClusterArgs, app, serving_config
from tinyworld.settings import Settings


def test_serving_config_defaults_to_the_champion_with_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One control arm, POST /events on, the roots absolute, as `tinyworld serve` starts."""
    monkeypatch.chdir(tmp_path)
    config = serving_config(Settings(), features=False)
    assert [arm.name for arm in config.experiment.arms] == ["control"]
    assert config.ingest is not None and config.ingest.state_path == tmp_path / "data/artifacts/serving/ingest.sqlite"
    assert config.registry_root == str(tmp_path / "data" / "registry")


def test_the_builder_serves_the_environment_with_its_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """app() builds the same deployment from ClusterArgs: the environment's settings, the state under state_dir."""
    import components.serving.deployment as deployment

    built: list[ServingConfig] = []
    monkeypatch.setattr(deployment, "deployment_for", built.append)
    monkeypatch.chdir(tmp_path)
    token = tmp_path / "token"
    token.write_text("a-token-of-sixteen-chars-or-more\n", encoding="utf-8")
    app({"env": "local", "state_dir": str(tmp_path / "state"), "admin_token_file": str(token)})
    (config,) = built
    assert config.ingest is not None and config.ingest.state_path == tmp_path / "state" / INGEST_STATE_FILE
    assert config.admin_token is not None
    assert config.admin_token.get_secret_value() == "a-token-of-sixteen-chars-or-more"


def test_cluster_args_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        ClusterArgs.model_validate({"env": "kind", "state_dir": "/x", "port": 8000})
