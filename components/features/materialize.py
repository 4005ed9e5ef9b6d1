"""``materialize``: copy the latest feature rows since the last run into the online store (incrementally).

Feast's ``materialize_incremental`` starts a view's first run at *wall-clock now* minus its TTL, which
skips every row of a simulated calendar in the past. This module keeps Feast's incremental bookkeeping
(each run starts where the view's last one ended) but starts a first run at ``end`` minus the TTL, and
``end`` defaults to the data's own latest ``event_timestamp`` rather than the clock.

Feast owns the online store: its keys, values and format. What it does slowly is the read: its Dask
offline store loads, tokenises and sorts the whole table before it filters the interval, which takes
longer the more days the table holds. So each view's interval is read here with Arrow (from a folder
or an object store, whichever offline store is configured), pushed down to the Parquet scan, and each
entity's latest row is handed to Feast in batches: the conversion to protos its local compute engine
applies, the online store's ``online_write_batch`` (SQLite or Redis), and the interval recorded in its
registry as ``FeatureStore.materialize`` records it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from components.features.errors import NotAppliedError
from components.features.etl_output import latest_rows, latest_timestamp
from components.features.repo import FeatureRepo
from components.features.views import ViewSpec
from components.step import Progress

log = logging.getLogger(__name__)

WRITE_BATCH_ROWS = 10_000
"""Entities converted to Feast's protos and written per call to the online store: bounds the memory they take."""


@dataclass(frozen=True)
class ViewMaterialization:
    """One view's run: the interval copied, the entities written and the time it took."""

    name: str
    start: datetime | None
    end: datetime
    rows: int  # entities written (the latest row of each in the interval)
    seconds: float  # reading the interval, writing it online and recording it in the registry
    skipped: bool = False  # already materialised up to ``end``


@dataclass
class MaterializeResult:
    """Every view's run, up to one ``end``."""

    end: datetime
    views: list[ViewMaterialization] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Entities written over all views."""
        return sum(v.rows for v in self.views)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO strings)."""
        data = asdict(self)
        data["end"] = self.end.isoformat()
        for view in data["views"]:
            view["start"] = view["start"].isoformat() if view["start"] else None
            view["end"] = view["end"].isoformat()
        data["rows"] = self.rows
        return data


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def registered_views(repo: FeatureRepo) -> dict[str, Any]:
    """The project's feature views in Feast's registry; :class:`NotAppliedError` if it has none of ours."""
    hint = "run `tinyworld features apply --etl-out <ETL output>` first"
    if not repo.registry_exists():
        raise NotAppliedError(f"no feature registry at {repo.registry_path}; {hint}")
    views = {fv.name: fv for fv in repo.store.list_feature_views()}
    missing = [spec.name for spec in repo.definitions.views if spec.name not in views]
    if missing:
        raise NotAppliedError(f"the registry at {repo.registry_path} lacks feature views {missing}; {hint}")
    return views


def source_uri(feature_view: Any) -> str:
    """The location of a registered view's batch source (a FileSource's or SparkSource's path)."""
    return str(feature_view.batch_source.path)


def data_end(repo: FeatureRepo, views: dict[str, Any], specs: Sequence[ViewSpec]) -> datetime:
    """The latest ``event_timestamp`` over the sources of ``specs`` (registered ``views``): the data's "now"."""
    stamps = [latest_timestamp(source_uri(views[s.name]), storage=repo.storage) for s in specs]
    present = [utc(s) for s in stamps if s is not None]
    if not present:
        raise NotAppliedError("the feature views' sources hold no rows: nothing to materialise")
    return max(present)


def write_online(repo: FeatureRepo, feature_view: Any, rows: Any) -> None:
    """Write ``rows`` (an Arrow table: the join key, ``event_timestamp`` and the features) online through Feast.

    Each batch goes through what Feast's local compute engine does when it materialises: its
    conversion of Arrow columns to value protos, then the online store's ``online_write_batch``.
    """
    from feast.utils import _convert_arrow_to_proto

    store = repo.store
    join_keys = {column.name: column.dtype.to_value_type() for column in feature_view.entity_columns}
    for batch in rows.to_batches(max_chunksize=WRITE_BATCH_ROWS):  # batches: of a Table, Feast converts chunk 0
        if batch.num_rows:
            data = _convert_arrow_to_proto(batch, feature_view, join_keys)
            store.provider.online_write_batch(store.config, feature_view, data, progress=None)


def materialize(
    repo: FeatureRepo,
    end: datetime | None = None,
    views: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
) -> MaterializeResult:
    """Materialise each view (or those named) from where its last run ended up to ``end``, inclusive.

    A view's first run starts at ``end`` minus its TTL: the latest row of each entity is what the online
    store must hold. ``end`` defaults to the latest ``event_timestamp`` in the sources. ``progress``
    hears of each view before it runs, with the fraction of views done.
    """
    defs = repo.definitions
    specs = [defs.view(name) for name in views] if views else list(defs.views)
    registered = registered_views(repo)
    until = utc(end) if end is not None else data_end(repo, registered, specs)
    result = MaterializeResult(end=until)
    began = time.perf_counter()
    for done, spec in enumerate(specs):
        if progress is not None:
            progress(f"materialising {spec.name}", done / len(specs))
        fv = registered[spec.name]
        previous = fv.most_recent_end_time
        start = utc(previous) if previous is not None else until - fv.ttl
        if start >= until:
            result.views.append(ViewMaterialization(spec.name, start, until, 0, 0.0, skipped=True))
            log.info("%s is materialised up to %s already", spec.name, start)
            continue
        started = time.perf_counter()
        features = [feature.name for feature in fv.features]
        rows = latest_rows(source_uri(fv), spec.join_key, features, start, until, storage=repo.storage)
        write_online(repo, fv, rows)
        repo.store.registry.apply_materialization(fv, repo.store.project, start, until)
        seconds = round(time.perf_counter() - started, 3)
        result.views.append(ViewMaterialization(spec.name, start, until, rows.num_rows, seconds))
        log.info(
            "materialised %s: %s entities from %s to %s in %.1f s", spec.name, rows.num_rows, start, until, seconds
        )
    result.seconds = round(time.perf_counter() - began, 3)
    return result
