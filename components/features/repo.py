"""The Feast repository of an environment: its definitions, its state, and the rendered feature_store.yaml.

Who owns which fact:

- ``feature_repo/definitions.py`` owns the project, the entities and which table feeds which view;
  :mod:`components.etl.tables` owns every column.
- :class:`tinyworld.settings.Settings` owns where state lives and which stores to use:
  the registry and (locally) the SQLite online store go under ``<artifacts_root>/features``; the
  online store is SQLite or Redis (``online_store``, ``redis_url``); the offline store follows where
  data lives: Dask over local Parquet, Spark (``spark_master``, ``s3_endpoint_url``) when
  ``artifacts_root`` is an object-store URL.
- ``feature_store.yaml`` is a function of those two, rendered into a working directory outside the
  source tree every time a repository is opened; it is never edited or committed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import yaml

from components.features.errors import DefinitionsError, UnknownEntityError
from components.features.views import OfflineStore, ViewSpec

if TYPE_CHECKING:
    from tinyworld.settings import Settings

log = logging.getLogger(__name__)

FEATURE_STORE_YAML = "feature_store.yaml"
"""The file name Feast (and ``feast -c <dir> ui``) looks for in a repository directory."""

DEFINITIONS_FILE = "definitions.py"
"""The module in the source repository that declares ``PROJECT``, ``ENTITIES`` and ``VIEWS``."""

REGISTRY_FILE = "registry.db"
ONLINE_STORE_FILE = "online_store.db"


def is_url(location: str) -> bool:
    """Whether ``location`` is a URL (``s3://...``) rather than a local path."""
    return "://" in location


@dataclass(frozen=True)
class Definitions:
    """What ``definitions.py`` declares: the Feast project, its entities and its views."""

    project: str
    entities: tuple[Any, ...]
    views: tuple[ViewSpec, ...]

    def entity_names(self) -> list[str]:
        """Entity names in declaration order."""
        return [e.name for e in self.entities]

    def view(self, name: str) -> ViewSpec:
        """The view called ``name``; :class:`UnknownEntityError` names the known ones."""
        for spec in self.views:
            if spec.name == name:
                return spec
        raise UnknownEntityError(f"unknown feature view {name!r}; known: {', '.join(v.name for v in self.views)}")

    def views_of(self, entity: str) -> list[ViewSpec]:
        """The views keyed by ``entity`` (an entity name or its join key, e.g. ``user`` or ``user_id``)."""
        chosen = [v for v in self.views if entity in (v.entity.name, v.join_key)]
        if not chosen:
            known = ", ".join(self.entity_names())
            raise UnknownEntityError(f"unknown entity {entity!r}; known entities: {known}")
        return chosen


def load_definitions(source_dir: Path) -> Definitions:
    """Import ``<source_dir>/definitions.py`` (as Feast does a repository) and read its declarations."""
    path = source_dir / DEFINITIONS_FILE
    if not path.is_file():
        raise DefinitionsError(f"no {DEFINITIONS_FILE} in the feature repository {source_dir}")
    name = f"tinyworld_feature_repo_{abs(hash(str(path.resolve())))}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise DefinitionsError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    try:
        return Definitions(str(module.PROJECT), tuple(module.ENTITIES), tuple(module.VIEWS))
    except AttributeError as error:
        raise DefinitionsError(f"{path} must declare PROJECT, ENTITIES and VIEWS: {error}") from None


def redis_connection_string(url: str) -> str:
    """Feast's Redis connection string (``host:port,db=N[,password=...][,ssl=true]``) for a redis:// URL."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise ValueError(f"redis_url must look like redis://host:port/db, not {url!r}")
    parts = [f"{parsed.hostname}:{parsed.port or 6379}"]
    database = parsed.path.strip("/") or "0"
    parts.append(f"db={int(database)}")
    if parsed.username and parsed.username != "default":
        parts.append(f"username={unquote(parsed.username)}")
    if parsed.password:
        parts.append(f"password={unquote(parsed.password)}")
    if parsed.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)


def state_location(settings: Settings) -> str:
    """Where Feast's state lives by default: ``<artifacts_root>/features`` (a path or a URL)."""
    return f"{settings.artifacts_root.rstrip('/')}/features"


def offline_store_for(settings: Settings) -> OfflineStore:
    """Dask reads local Parquet; data in an object store is read with Spark (Dask would need s3fs)."""
    return "spark" if is_url(settings.artifacts_root) else "file"


def render_config(settings: Settings, project: str, state: str) -> dict[str, Any]:
    """The feature_store.yaml of an environment, as a mapping; ``state`` holds registry and SQLite file."""
    local = not is_url(state)
    root = str(Path(state).resolve()) if local else state.rstrip("/")
    online: dict[str, Any]
    if settings.online_store == "redis":
        if not settings.redis_url:
            raise ValueError("online_store is 'redis' but redis_url is not set")
        online = {"type": "redis", "connection_string": redis_connection_string(settings.redis_url)}
    else:
        if not local:
            raise ValueError(f"the SQLite online store needs a local state directory, not {state!r}")
        online = {"type": "sqlite", "path": f"{root}/{ONLINE_STORE_FILE}"}
    offline: dict[str, Any] = {"type": offline_store_for(settings)}
    if offline["type"] == "spark":
        conf = {
            "spark.master": settings.spark_master,
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        }
        if settings.s3_endpoint_url:
            conf["spark.hadoop.fs.s3a.endpoint"] = settings.s3_endpoint_url
            conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        offline["spark_conf"] = conf
    return {
        "project": project,
        "provider": "local",
        "registry": {"registry_type": "file", "path": f"{root}/{REGISTRY_FILE}", "cache_ttl_seconds": 60},
        "online_store": online,
        "offline_store": offline,
        "entity_key_serialization_version": 3,
    }


@dataclass(frozen=True)
class FeatureRepo:
    """An opened repository: definitions, rendered config and the local folder holding feature_store.yaml."""

    source_dir: Path  # the source repository (feature_repo/), holding definitions.py
    workdir: Path  # local folder with the rendered feature_store.yaml: `feast -c <workdir> ui` reads it
    definitions: Definitions
    config: dict[str, Any]  # the rendered feature_store.yaml
    s3_endpoint_url: str | None = None  # the object store that s3:// sources resolve to

    @property
    def yaml_path(self) -> Path:
        """The rendered feature_store.yaml."""
        return self.workdir / FEATURE_STORE_YAML

    @property
    def offline_store(self) -> OfflineStore:
        """``file`` (Dask) or ``spark``."""
        kind: OfflineStore = self.config["offline_store"]["type"]
        return kind

    @property
    def registry_path(self) -> str:
        """Where Feast's registry is kept."""
        return str(self.config["registry"]["path"])

    @property
    def online_store(self) -> str:
        """``sqlite`` or ``redis``."""
        return str(self.config["online_store"]["type"])

    @property
    def online_store_path(self) -> Path | None:
        """The SQLite online store's file, or None for Redis."""
        return Path(self.config["online_store"]["path"]) if self.online_store == "sqlite" else None

    def registry_exists(self) -> bool:
        """Whether ``apply`` has written the registry (always assumed for a remote registry)."""
        return is_url(self.registry_path) or Path(self.registry_path).is_file()

    def ui_command(self, port: int = 8888) -> str:
        """The command that serves Feast's web UI over this repository (in the foreground)."""
        return f"feast -c {self.workdir} ui --host 127.0.0.1 --port {port}"

    @cached_property
    def store(self) -> Any:
        """A ``feast.FeatureStore`` over the rendered config, created once per opened repository."""
        from feast import FeatureStore

        from components.features.feast_import import feast  # noqa: F401  (first: see that module)

        return FeatureStore(repo_path=str(self.workdir), fs_yaml_file=self.yaml_path)


def open_repo(
    settings: Settings,
    state: str | None = None,
    workdir: Path | None = None,
    source_dir: Path | None = None,
) -> FeatureRepo:
    """Load the definitions and render feature_store.yaml for ``settings``' environment.

    ``state`` (default ``<artifacts_root>/features``) holds the registry and, for SQLite, the online
    store. ``workdir`` (default: ``state`` when local, else a folder under ``data/features``) gets the
    rendered yaml. ``source_dir`` defaults to the environment's ``feature_repo``.
    """
    source = source_dir if source_dir is not None else Path(settings.feature_repo)
    definitions = load_definitions(source)
    location = state if state is not None else state_location(settings)
    if workdir is None:
        workdir = Path("data/features") / settings.name if is_url(location) else Path(location)
    workdir = workdir.resolve()
    config = render_config(settings, definitions.project, location)
    text = "# Rendered by components.features.repo from the environment's settings: do not edit.\n"
    text += yaml.safe_dump(config, sort_keys=False)
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / FEATURE_STORE_YAML
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
        log.info("rendered %s for environment %s", target, settings.name)
    return FeatureRepo(source.resolve(), workdir, definitions, config, settings.s3_endpoint_url)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Route what Feast prints to stdout into this module's log (DEBUG), keeping stdout for callers."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        for line in buffer.getvalue().splitlines():
            if line.strip():
                log.debug("feast: %s", line.rstrip())
