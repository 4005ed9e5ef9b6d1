"""``lookup``: the online store's latest features for a batch of entities, as the recommender reads them.

:class:`OnlineReader` resolves an entity's feature references once and then serves reads; ids the
store has never seen come back with null features and are listed by :func:`missing_ids`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from components.features.materialize import registered_views
from components.features.repo import FeatureRepo

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


class OnlineReader:
    """Reads one entity's features (every view keyed by it, or those named) from the online store."""

    def __init__(self, repo: FeatureRepo, entity: str, views: Sequence[str] | None = None) -> None:
        """Resolve ``entity`` (name or join key) and its views; raises UnknownEntityError, NotAppliedError."""
        specs = repo.definitions.views_of(entity)
        if views:
            wanted = set(views)
            for name in wanted - {s.name for s in specs}:
                repo.definitions.view(name)  # raises for an unknown view
                raise ValueError(f"feature view {name!r} is not keyed by entity {entity!r}")
            specs = [s for s in specs if s.name in wanted]
        registered_views(repo)
        self.entity = specs[0].entity.name
        self.join_key = specs[0].join_key
        self.references = [ref for spec in specs for ref in spec.references()]
        self.columns = [ref.replace(":", "__") for ref in self.references]
        self._store = repo.store

    def read_dict(self, ids: Sequence[int]) -> dict[str, list[Any]]:
        """Feature columns for ``ids`` (plus the join key), in the order given; null where unknown."""
        rows = {self.join_key: [int(i) for i in ids]}
        response = self._store.get_online_features(features=self.references, entity_rows=rows, full_feature_names=True)
        values: dict[str, list[Any]] = response.to_dict()
        return values

    def read(self, ids: Sequence[int]) -> pd.DataFrame:
        """:meth:`read_dict` as a DataFrame: one row per id, the join key first."""
        import pandas as pd

        values = self.read_dict(ids)
        return pd.DataFrame({self.join_key: values[self.join_key], **{c: values[c] for c in self.columns}})


def missing_ids(frame: pd.DataFrame, join_key: str) -> list[int]:
    """Ids of a lookup whose every feature is null: never materialised (or unknown to the platform)."""
    features = frame.drop(columns=[join_key])
    return [int(i) for i in frame.loc[features.isna().all(axis=1), join_key]]


def lookup(repo: FeatureRepo, entity: str, ids: Sequence[int], views: Sequence[str] | None = None) -> pd.DataFrame:
    """The latest online features of ``ids`` of ``entity`` (``user``, ``item`` or ``creator``)."""
    reader = OnlineReader(repo, entity, views)
    frame = reader.read(ids)
    unknown = missing_ids(frame, reader.join_key)
    if unknown:
        log.info("%s of %s %s ids have no online features: %s", len(unknown), len(ids), reader.entity, unknown[:10])
    return frame
