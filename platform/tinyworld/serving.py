"""The recommender's configuration from an environment's settings, for every host that serves it.

:func:`serving_config` maps :class:`~tinyworld.settings.Settings` (and the choices of ``tinyworld
serve``) to a :class:`~components.serving.config.ServingConfig`. Two hosts use it: ``tinyworld
serve`` on this machine and, in a cluster, the KubeRay ``RayService``, whose Serve config imports
:func:`app` (an application builder) with :class:`ClusterArgs`. The RayService's Serve config is
generated from the same deployment (``python -m tinyworld.deploy.serve_config``), so the two hosts
never describe the recommender twice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from components.registry.registry import DEFAULT_MODEL_NAME
from tinyworld.settings import Settings

if TYPE_CHECKING:
    from components.serving.config import ServingConfig

log = logging.getLogger(__name__)

INGEST_STATE_FILE = "ingest.sqlite"
"""The ingest state's file name, under ``<artifacts_root>/serving`` locally or the cluster's state folder."""


def absolute(location: str) -> str:
    """A root as the storage resolver names it: local paths absolute (Ray's replicas need not share
    this process's working directory), URLs kept as URLs (``s3a://`` as ``s3://``)."""
    from components.storage import resolve

    return resolve(location).url


def state_path(state: Path | None, settings: Settings) -> Path:
    """The ingest state file: ``state``, else ``<artifacts_root>/serving/ingest.sqlite`` for a local root."""
    from components.storage import resolve

    if state is not None:
        return state.resolve()
    artifacts = resolve(settings.artifacts_root, settings.storage())
    if not artifacts.is_local:
        raise ValueError(
            f"the ingest state is a SQLite file on this machine and artifacts_root {artifacts.url} is not a "
            "local folder: give --state PATH (or --no-events)"
        )
    return Path(artifacts.path) / "serving" / INGEST_STATE_FILE


def feature_store_dir(settings: Settings) -> Path | None:
    """The rendered Feast repository, if features were applied in this environment."""
    from components.features.repo import open_repo
    from tinyworld import steps

    try:
        repo = open_repo(steps.feature_store(settings), storage=settings.storage())
    except Exception as error:
        log.warning("no feature store (%s): unseen users get the cold-user vector", error)
        return None
    if not repo.registry_exists():
        log.warning("features not applied yet (tinyworld features apply): unseen users get the cold-user vector")
        return None
    return repo.workdir


def serving_config(
    settings: Settings,
    *,
    arms: list[dict[str, object]] | None = None,
    experiment: str | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    state: Path | None = None,
    events: bool = True,
    features: bool = True,
    etl: str | None = None,
    reload_interval: float | None = None,
    admin_token: str | None = None,
) -> ServingConfig:
    """The recommender of environment ``settings``; None leaves a value to ServingConfig's default.

    ``arms`` are ArmConfig dicts (default: one ``control`` arm serving the champion); ``state`` is
    the ingest state file (see :func:`state_path`); ``events`` mounts the ingest API at POST /events.
    Raises ValueError (or pydantic's ValidationError) for settings that cannot serve.
    """
    from components.ingest.config import IngestConfig
    from components.registry.experiments import ExperimentConfig
    from components.serving.config import ServingConfig

    ingest = None
    if events:
        path = state_path(state, settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        ingest = IngestConfig(lake_root=absolute(settings.lake_root), state_path=path, storage=settings.storage())
    named = {"name": experiment} if experiment else {}
    reload = {"reload_interval_s": reload_interval} if reload_interval is not None else {}
    admin = {"admin_token": admin_token} if admin_token is not None else {}
    return ServingConfig(
        registry_root=absolute(settings.registry_root),
        storage=settings.storage(),
        model_name=model_name,
        experiment=ExperimentConfig.model_validate({**named, "arms": arms or [{"name": "control"}]}),
        etl_root=absolute(etl) if etl else None,
        feature_store_dir=feature_store_dir(settings) if features else None,
        ingest=ingest,
        **reload,
        **admin,
    )


class ClusterArgs(BaseModel):
    """The arguments a cluster's Serve config hands to :func:`app` (the chart fills them in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the environment whose settings the recommender serves with (a file in platform/environments/)
    env: str = Field(min_length=1)
    # the folder on the Ray pod that holds the ingest state (one SQLite file per replica rank)
    state_dir: Path
    # a file holding the admin API's bearer token (a mounted Secret); None turns the admin API off
    admin_token_file: Path | None = None
    # the experiment's arms as ArmConfig dicts; None serves the champion in one arm
    arms: list[dict[str, object]] | None = None

    def admin_token(self) -> SecretStr | None:
        """The token in :attr:`admin_token_file`, without its trailing newline."""
        if self.admin_token_file is None:
            return None
        return SecretStr(self.admin_token_file.read_text(encoding="utf-8").strip())


def app(args: dict[str, Any]) -> Any:
    """Ray Serve application builder: the recommender with ingest, as ``tinyworld serve`` runs it.

    A RayService's Serve config names it as ``import_path`` with :class:`ClusterArgs` as ``args``.
    """
    from components.serving.deployment import deployment_for

    parsed = ClusterArgs.model_validate(args)
    settings = Settings.from_environment(parsed.env)
    token = parsed.admin_token()
    config = serving_config(
        settings,
        arms=parsed.arms,
        state=parsed.state_dir / INGEST_STATE_FILE,
        admin_token=token.get_secret_value() if token is not None else None,
    )
    return deployment_for(config)
