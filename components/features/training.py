"""``training_set``: label rows joined point-in-time to the features known when each label happened.

Each row of the entity frame (``user_id``, ``item_id``, ``event_timestamp`` and any label columns)
gets, from every view keyed by those entities, the values of the latest feature row with
``event_timestamp`` at or before the row's own (and no older than the view's TTL): never a value
computed from events after the label. Creator features are joined through the item's own
``creator_id`` feature as it was known at that time, unless the frame carries ``creator_id`` itself.
Columns are named ``<view>__<feature>`` (``user_features__ctr_7d``) since views share feature names.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from components.features.errors import EntityFrameError
from components.features.etl_output import dataset
from components.features.materialize import registered_views, source_uri
from components.features.repo import FeatureRepo, quiet
from components.features.views import TIMESTAMP_COLUMN, ViewSpec

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def _frame(entity_df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """A copy of ``entity_df`` with int64 keys and UTC timestamps; errors name what is wrong."""
    import pandas as pd

    missing = [c for c in (*keys, TIMESTAMP_COLUMN) if c not in entity_df.columns]
    if missing:
        raise EntityFrameError(f"the entity frame lacks columns {missing} (it has {list(entity_df.columns)})")
    frame = entity_df.reset_index(drop=True)
    try:
        stamps = pd.to_datetime(frame[TIMESTAMP_COLUMN], utc=True)
    except (ValueError, TypeError) as error:
        raise EntityFrameError(f"{TIMESTAMP_COLUMN} holds values that are not timestamps: {error}") from None
    if stamps.isna().any():
        raise EntityFrameError(f"the entity frame has missing {TIMESTAMP_COLUMN} values")
    frame = frame.assign(**{TIMESTAMP_COLUMN: stamps.astype("datetime64[ns, UTC]")})
    for key in keys:
        if frame[key].isna().any():
            raise EntityFrameError(f"the entity frame has missing {key} values")
        frame[key] = frame[key].astype("int64")
    return frame


def _join(repo: FeatureRepo, frame: pd.DataFrame, spec: ViewSpec) -> pd.DataFrame:
    """``frame`` with ``spec``'s features joined point-in-time on (join key, timestamp), rows kept.

    Feast is handed each distinct (key, timestamp) pair once: its Dask join drops an entity row whose
    key has feature rows but none valid at that time (instead of returning nulls), and collapses rows
    sharing a key and timestamp. Joining the pairs and merging them back keeps every row, in order.
    """
    key = spec.join_key
    pairs = frame[[key, TIMESTAMP_COLUMN]].drop_duplicates(ignore_index=True)
    with quiet():
        job = repo.store.get_historical_features(entity_df=pairs, features=spec.references(), full_feature_names=True)
        found = job.to_df()
    columns = [c.replace(":", "__") for c in spec.references()]
    found = found[[key, TIMESTAMP_COLUMN, *columns]].astype({key: "int64"})
    found[TIMESTAMP_COLUMN] = found[TIMESTAMP_COLUMN].astype("datetime64[ns, UTC]")
    joined = frame.merge(found, on=[key, TIMESTAMP_COLUMN], how="left", validate="many_to_one")
    joined.index = frame.index  # a left merge keeps the left rows' order
    log.debug("%s: %s of %s (key, time) pairs have features", spec.name, len(found), len(pairs))
    return joined


def _link(spec: ViewSpec, direct: Sequence[ViewSpec]) -> str | None:
    """The column of a directly joined view that holds ``spec``'s join key as a feature, if any."""
    for other in direct:
        if spec.join_key in other.feature_names:
            return f"{other.name}__{spec.join_key}"
    return None


def training_set(
    repo: FeatureRepo,
    entity_df: pd.DataFrame,
    views: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows of ``entity_df`` in their order, with every feature known at each row's timestamp.

    ``views`` limits the join to the named feature views (default: every view whose key the frame
    holds, or which another view holds as a feature, as ``item_features`` holds ``creator_id``).
    Raises :class:`EntityFrameError` for a frame without keys or timestamps, or without a key for a
    view named in ``views``, and :class:`NotAppliedError` before ``apply``.
    """
    began = time.perf_counter()
    defs = repo.definitions
    registered = registered_views(repo)
    specs = [defs.view(name) for name in views] if views else list(defs.views)
    for spec in specs:  # a clear error, not Dask's, when an ETL output applied earlier is gone
        dataset(source_uri(registered[spec.name]), storage=repo.storage)
    columns = set(entity_df.columns)
    direct = [s for s in specs if s.join_key in columns]
    if not direct:
        keys = sorted({s.join_key for s in specs})
        raise EntityFrameError(f"the entity frame names none of the join keys {keys}")
    linked = {s.name: _link(s, direct) for s in specs if s not in direct}
    unjoinable = [name for name, link in linked.items() if link is None]
    if unjoinable and views:
        raise EntityFrameError(f"the entity frame has no key for views {unjoinable}, directly or through another view")
    frame = _frame(entity_df, sorted({s.join_key for s in direct}))
    for spec in direct:
        frame = _join(repo, frame, spec)
    for spec in (s for s in specs if linked.get(s.name)):
        link = str(linked[spec.name])  # e.g. item_features__creator_id: the item's creator at that time
        keyed = frame[frame[link].notna()].rename(columns={link: spec.join_key}).astype({spec.join_key: "int64"})
        extra = _join(repo, keyed[[spec.join_key, TIMESTAMP_COLUMN]], spec).drop(
            columns=[spec.join_key, TIMESTAMP_COLUMN]
        )
        frame = frame.join(extra)
    out = frame.reset_index(drop=True)
    log.info("training set: %s rows x %s columns in %.1f s", len(out), out.shape[1], time.perf_counter() - began)
    return out
