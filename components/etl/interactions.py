"""The training table: one row per impression, labelled by what followed it.

An impression is matched with the click, like, share and dwell events that carry the same
``request_id``, ``user_id`` and ``item_id`` (SimNet echoes the request id on every slate
event). ``label`` is 1 when a click followed. ``weight`` says how much a positive counts::

    weight = 1                                            if label == 0
    weight = 1 + liked + 2 * shared + min(dwell_ms / DWELL_FULL_MS, 1)   if label == 1

so a click that was liked, shared and read for a minute or more weighs 5 and a bare click 1
(``liked``/``shared`` are 0/1). Engagement after the window's end is not seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.etl.aggregates import count_of
from components.etl.tables import INTERACTIONS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DWELL_FULL_MS = 60_000
"""Dwell time (ms) at which the dwell part of a positive's weight saturates at 1."""

LIKE_WEIGHT = 1.0
"""Extra weight of a liked click."""

SHARE_WEIGHT = 2.0
"""Extra weight of a shared click."""


def interactions(reported: DataFrame) -> DataFrame:
    """One row per impression of the reported days with its label and weight."""
    from pyspark.sql import functions as F

    key = ["request_id", "user_id", "item_id"]
    follow = reported.where(F.col("type").isin("click", "like", "share", "dwell") & F.col("request_id").isNotNull())
    engaged = follow.groupBy(*key).agg(
        count_of("click").alias("_clicks"),
        count_of("like").alias("_likes"),
        count_of("share").alias("_shares"),
        F.coalesce(F.sum("dwell_ms"), F.lit(0)).alias("_dwell"),
    )
    shown = reported.where(F.col("type") == "impression").select(*key, "ts", "position", "arm")
    # Engaged impressions are a few percent: broadcast them rather than shuffle every impression.
    joined = shown.join(F.broadcast(engaged), key, "left")
    clicked = F.coalesce(F.col("_clicks"), F.lit(0)) > 0
    bonus = (
        F.lit(1.0)
        + F.lit(LIKE_WEIGHT) * (F.coalesce(F.col("_likes"), F.lit(0)) > 0).cast("double")
        + F.lit(SHARE_WEIGHT) * (F.coalesce(F.col("_shares"), F.lit(0)) > 0).cast("double")
        + F.least(F.coalesce(F.col("_dwell"), F.lit(0)) / F.lit(float(DWELL_FULL_MS)), F.lit(1.0))
    )
    out = joined.select(
        "user_id",
        "item_id",
        "ts",
        clicked.cast("int").alias("label"),
        F.when(clicked, bonus).otherwise(F.lit(1.0)).alias("weight"),
        "request_id",
        "position",
        "arm",
    )
    return out.select(*INTERACTIONS.column_names)
