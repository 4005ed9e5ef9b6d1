"""``apply``: register the repository's entities and feature views, over an ETL output, in Feast's registry.

Like ``feast apply`` it is idempotent and removes what the definitions no longer declare (a renamed
view does not linger in the registry or the online store). Unlike ``feast apply`` it is handed the
ETL output root the sources read, and checks those tables before Feast sees them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from components.features.errors import MissingEtlOutputError
from components.features.etl_output import check_tables
from components.features.repo import FeatureRepo, quiet
from components.features.views import table_uri
from components.storage import resolve

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ViewSummary:
    """One applied feature view."""

    name: str
    entity: str
    join_key: str
    features: int  # number of features served
    rows: int  # rows in its ETL table when applied
    source: str  # the table's location


@dataclass
class ApplyResult:
    """What ``apply`` registered, where, and how long it took."""

    project: str
    registry: str
    feature_store_yaml: str
    offline_store: str
    online_store: str
    views: list[ViewSummary] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # objects removed because the definitions dropped them
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def feast_objects(repo: FeatureRepo, etl_out: str) -> list[Any]:
    """Entities, sources and feature views of the repository, with sources under ``etl_out``."""
    defs = repo.definitions
    objects: list[Any] = list(defs.entities)
    for spec in defs.views:
        source = spec.source(etl_out, repo.offline_store, storage=repo.storage)
        objects += [source, spec.feature_view(source)]
    return objects


def _stale(repo: FeatureRepo, objects: list[Any]) -> list[Any]:
    """Registered objects of the project that ``objects`` no longer declare."""
    if not repo.registry_exists():
        return []
    store = repo.store
    wanted = {(type(o).__name__, o.name) for o in objects}
    registered: list[Any] = []
    try:
        registered += store.list_feature_views()
        registered += store.list_entities()
        registered += store.list_data_sources()
    except FileNotFoundError:
        return []
    stale = []
    for obj in registered:
        if (type(obj).__name__, obj.name) not in wanted and not obj.name.startswith("__"):
            stale.append(obj)  # "__dummy" is Feast's own entity for entity-less views
    return stale


def apply(repo: FeatureRepo, etl_out: str) -> ApplyResult:
    """Check the ETL tables under ``etl_out``, then register every definition in Feast's registry.

    ``etl_out`` is a folder or an object-store URL; a relative folder is made absolute (Feast would
    resolve it against its own working directory). Raises :class:`MissingEtlOutputError` when a
    table is absent, empty or lacks a served column.
    """
    root = resolve(etl_out, repo.storage)
    if repo.offline_store == "file" and not root.is_local:
        raise MissingEtlOutputError(
            f"the file offline store reads local Parquet, not {etl_out}: "
            "use the spark offline store (offline_store: spark) to read an object store"
        )
    etl_out = root.url
    began = time.perf_counter()
    defs = repo.definitions
    rows = check_tables(etl_out, defs.views, storage=repo.storage)
    objects = feast_objects(repo, etl_out)
    stale = _stale(repo, objects)
    with quiet():
        repo.store.apply(objects, objects_to_delete=stale, partial=False)
    result = ApplyResult(
        project=defs.project,
        registry=repo.registry_path,
        feature_store_yaml=str(repo.yaml_path),
        offline_store=repo.offline_store,
        online_store=repo.online_store,
        deleted=sorted(f"{type(o).__name__} {o.name}" for o in stale),
    )
    for spec in defs.views:
        result.views.append(
            ViewSummary(
                spec.name,
                spec.entity.name,
                spec.join_key,
                len(spec.features),
                rows[spec.name],
                table_uri(etl_out, spec.table),
            )
        )
    result.seconds = round(time.perf_counter() - began, 3)
    log.info("applied %s feature views of project %s in %.1f s", len(defs.views), defs.project, result.seconds)
    return result
