"""TinyWorld's Feast repository: its project, entities and feature views, declared thinly.

Each feature view names one ETL table of :mod:`components.etl.tables`; its features, types,
descriptions and source are derived from that table by :mod:`components.features.views`, so the
columns are defined once, by the ETL. Where the tables live (the ETL's output root) is handed to
``tinyworld features apply`` and recorded in Feast's registry; where Feast keeps its state comes
from a :class:`components.features.config.FeatureStoreConfig` (see docs/features.md). Apply with
``tinyworld features apply`` (or the pipeline's features step), not ``feast apply``: the sources
need the ETL output root, which this file does not know.
"""

from __future__ import annotations

from datetime import timedelta

from feast import Entity, ValueType

from components.etl.tables import CREATOR_FEATURES, ITEM_FEATURES, USER_FEATURES
from components.features.views import ViewSpec

PROJECT = "tinyworld"
"""The Feast project: the namespace of every object below in the registry."""

FRESHNESS = timedelta(days=2)
"""How long a row stays valid: the ETL writes one per entity per day; one missed day is tolerated."""

user = Entity(
    name="user",
    join_keys=[USER_FEATURES.key[0]],
    value_type=ValueType.INT64,
    description="A SimNet user: the consumer a feed is ranked for.",
)
item = Entity(
    name="item",
    join_keys=[ITEM_FEATURES.key[0]],
    value_type=ValueType.INT64,
    description="A SimNet item: a post in the catalogue, ranked into feeds.",
)
creator = Entity(
    name="creator",
    join_keys=[CREATOR_FEATURES.key[0]],
    value_type=ValueType.INT64,
    description="A SimNet producer: the user who created an item (item_features.creator_id).",
)

ENTITIES = (user, item, creator)
"""Every entity, in the order lookups and summaries list them."""

VIEWS = (
    ViewSpec(USER_FEATURES, user, FRESHNESS),
    ViewSpec(ITEM_FEATURES, item, FRESHNESS),
    ViewSpec(CREATOR_FEATURES, creator, FRESHNESS),
)
"""One feature view per ETL feature table, named after it."""
