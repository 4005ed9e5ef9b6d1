"""The ``promote`` pipeline: the online experiment of a day decides the challenger's fate."""

# No `from __future__ import annotations`: KFP reads the parameters' annotations as types.
from kfp import dsl

from tinyworld.pipelines import components
from tinyworld.pipelines.cluster import in_cluster


@dsl.pipeline(
    name="promote",
    description="Read a day's A/B experiment (champion vs challenger) and promote the challenger "
    "to champion or retire it, with the reason in the registry's alias history.",
)
def promote(day: str = "", env: str = "local") -> None:
    """``day``: the UTC day whose experiment decides (YYYY-MM-DD; empty: yesterday).

    Runs before that night's ``daily`` registers a new challenger, so the aliases it judges are
    the ones that served the day."""
    outcome = in_cluster(components.experiments(env=env, day=day)).set_display_name("experiments")
    in_cluster(components.promote(env=env, experiments=outcome.output)).set_display_name("promote")
