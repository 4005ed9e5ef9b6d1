"""The Feast repository of an environment: its definitions, its state, and the rendered feature_store.yaml.

Who owns which fact:

- ``feature_repo/definitions.py`` owns the project, the entities and which table feeds which view;
  :mod:`components.etl.tables` owns every column.
- :class:`~components.features.config.FeatureStoreConfig` owns where the definitions and Feast's
  state live and which stores to use: the registry and (with SQLite) the online store go under its
  ``state`` folder; the online store is SQLite or Redis; the offline store is Dask over local
  Parquet or Spark. :class:`~components.storage.StorageOptions` owns how to reach the object store.
- ``feature_store.yaml`` is a function of those, rendered into a working directory outside the
  source tree every time a repository is opened; it is never edited or committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from components.features.config import FeatureStoreConfig, OfflineStore, redact_url
from components.features.errors import DefinitionsError, UnknownEntityError
from components.features.views import ViewSpec
from components.storage import StorageOptions, resolve

log = logging.getLogger(__name__)

FEATURE_STORE_YAML = "feature_store.yaml"
"""The file name Feast (and ``feast -c <dir> ui``) looks for in a repository directory."""

DEFINITIONS_FILE = "definitions.py"
"""The module in the source repository that declares ``PROJECT``, ``ENTITIES`` and ``VIEWS``."""

UI_PORT = 8888
"""Where ``feast ui`` listens unless told otherwise."""

REGISTRY_FILE = "registry.db"
ONLINE_STORE_FILE = "online_store.db"

REMOTE_WORKDIRS = Path("data/features")
"""Where the rendered feature_store.yaml of a state kept in an object store goes (a local folder per state URL)."""


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
    wrong = ValueError(f"redis_url must look like redis://host:port/db, not {redact_url(url)!r}")
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise wrong
    try:
        port, database = parsed.port or 6379, int(parsed.path.strip("/") or "0")
    except ValueError:
        raise wrong from None
    parts = [f"{parsed.hostname}:{port}", f"db={database}"]
    if parsed.username and parsed.username != "default":
        parts.append(f"username={unquote(parsed.username)}")
    if parsed.password:
        parts.append(f"password={unquote(parsed.password)}")
    if parsed.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)


def render_config(config: FeatureStoreConfig, project: str, storage: StorageOptions | None = None) -> dict[str, Any]:
    """The feature_store.yaml of ``config``, as a mapping; its state folder holds the registry and SQLite file.

    ``storage`` gives the Spark offline store its object-store endpoint; object-store credentials are
    never written (Spark's s3a reads them from the standard AWS chain, as every pod does).
    """
    options = storage or StorageOptions()
    state = resolve(config.state, options)
    online: dict[str, Any]
    if config.online_store == "redis":
        online = {"type": "redis", "connection_string": redis_connection_string(config.redis_url or "")}
    else:  # the config refuses SQLite over a remote state folder
        online = {"type": "sqlite", "path": state.join(ONLINE_STORE_FILE).url}
    offline: dict[str, Any] = {"type": config.offline_store}
    if config.offline_store == "spark":
        conf = {
            "spark.master": config.spark_master,
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        }
        if options.s3_endpoint_url:
            conf["spark.hadoop.fs.s3a.endpoint"] = options.s3_endpoint_url
            conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        if options.s3_region:
            conf["spark.hadoop.fs.s3a.endpoint.region"] = options.s3_region
        offline["spark_conf"] = conf
    return {
        "project": project,
        "provider": "local",
        "registry": {"registry_type": "file", "path": state.join(REGISTRY_FILE).url, "cache_ttl_seconds": 60},
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
    storage: StorageOptions = dataclasses.field(default_factory=StorageOptions)  # how s3:// roots are reached

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
        """Whether ``apply`` has written the registry (always assumed for a registry in an object store)."""
        registry = resolve(self.registry_path, self.storage)
        return not registry.is_local or Path(registry.path).is_file()

    def ui_command(self, port: int = UI_PORT) -> str:
        """The command that serves Feast's web UI over this repository (in the foreground)."""
        return f"feast -c {self.workdir} ui --host 127.0.0.1 --port {port}"

    @cached_property
    def store(self) -> Any:
        """A ``feast.FeatureStore`` over the rendered config, created once per opened repository."""
        from feast import FeatureStore

        from components.features.feast_import import feast  # noqa: F401  (first: see that module)

        return FeatureStore(repo_path=str(self.workdir), fs_yaml_file=self.yaml_path)


def default_workdir(state: str, storage: StorageOptions | None = None) -> Path:
    """Where feature_store.yaml is rendered: the state folder, or for a remote state a local folder named after it."""
    root = resolve(state, storage)
    if root.is_local:
        return Path(root.path)
    return REMOTE_WORKDIRS / re.sub(r"[^A-Za-z0-9._-]+", "_", root.url)


def open_repo(
    config: FeatureStoreConfig,
    *,
    storage: StorageOptions | None = None,
    workdir: Path | None = None,
) -> FeatureRepo:
    """Load the definitions and render feature_store.yaml for ``config``.

    ``storage`` says how to reach an object store holding the state or the ETL's tables.
    ``workdir`` (default :func:`default_workdir`) gets the rendered yaml: Feast and ``feast ui`` read
    it there. Raises :class:`DefinitionsError` for a missing or incomplete ``definitions.py``.
    """
    options = storage or StorageOptions()
    source = config.source_path()
    definitions = load_definitions(source)
    if config.project is not None:
        definitions = dataclasses.replace(definitions, project=config.project)
    workdir = (workdir if workdir is not None else default_workdir(config.state, options)).resolve()
    rendered = render_config(config, definitions.project, options)
    text = "# Rendered by components.features.repo from a FeatureStoreConfig: do not edit.\n"
    text += yaml.safe_dump(rendered, sort_keys=False)
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / FEATURE_STORE_YAML
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
        log.info("rendered %s (state %s)", target, resolve(config.state, options))
    return FeatureRepo(source.resolve(), workdir, definitions, rendered, options)


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
