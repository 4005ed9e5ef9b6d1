"""The daily building blocks every table is derived from, computed once per run.

``user_arm_day`` and ``item_day`` reduce the window's events (lookback days included) to one
row per (day, user, experiment, arm, model version) and (day, item); ``user_day`` sums the first
per (day, user). Trailing 7-day figures come from :func:`trailing`, which spreads each daily row
over the days whose window it falls in and sums: one shuffle, no self-join. The decayed
popularity score is :func:`decayed`, a running sum over each item's days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from components.etl.read import Window

ENGAGEMENT_TYPES = ("click", "like", "share")
"""The events that count as engagement (per-user engagement, popularity score)."""

PAIR_TYPES = ("impression", "click", "like", "share", "dwell")
"""Events that answer a slate: the ones user-item engagement and interactions read."""

MAX_DECAY_EXPONENT = 1000.0
"""Largest (days read / half-life) the running-sum form of the decay can take in float64."""


def count_of(kind: str | int, column: str = "type") -> Column:
    """Aggregate: how many rows have ``column == kind`` (bigint, 0 if none)."""
    from pyspark.sql import functions as F

    return F.count(F.when(F.col(column) == kind, True))


def ratio(num: str | Column, den: str | Column) -> Column:
    """``num / den`` as a double, 0.0 where ``den`` is 0 or null."""
    from pyspark.sql import functions as F

    n = F.col(num) if isinstance(num, str) else num
    d = F.col(den) if isinstance(den, str) else den
    return F.when(d > 0, n.cast("double") / d).otherwise(F.lit(0.0))


def days_frame(spark: SparkSession, days: Sequence[date]) -> DataFrame:
    """A one-column (``date``) frame of the given days."""
    return spark.createDataFrame([(d,) for d in days], "date date")


USER_COUNTS = ("events", "impressions", "clicks", "likes", "shares", "dwell_ms", "dwells", "signups")
"""The per-user daily counts of :func:`user_arm_day` and :func:`user_day`."""


def user_arm_day(events: DataFrame, experiment: Column) -> DataFrame:
    """Per (day, user_id, experiment, arm, model_version): :data:`USER_COUNTS`.

    ``experiment`` names an event's experiment (from its ``ts``); events outside a slate have a
    null arm. The experiments table reads its per-arm counts from this frame and
    :func:`user_day` sums it per user, so one scan of the events serves both.
    """
    from pyspark.sql import functions as F

    keyed = events.withColumn("experiment", experiment)
    return keyed.groupBy("day", "user_id", "experiment", "arm", "model_version").agg(
        F.count(F.lit(1)).alias("events"),
        count_of("impression").alias("impressions"),
        count_of("click").alias("clicks"),
        count_of("like").alias("likes"),
        count_of("share").alias("shares"),
        F.coalesce(F.sum(F.when(F.col("type") == "dwell", F.col("dwell_ms"))), F.lit(0)).alias("dwell_ms"),
        count_of("dwell").alias("dwells"),
        count_of("signup").alias("signups"),
    )


def user_day(user_arm_day: DataFrame) -> DataFrame:
    """Per (day, user_id): :data:`USER_COUNTS` (events, impressions, clicks, likes, shares, dwell
    sum and count, signups), summed over :func:`user_arm_day`'s arms."""
    from pyspark.sql import functions as F

    return user_arm_day.groupBy("day", "user_id").agg(*[F.sum(c).alias(c) for c in USER_COUNTS])


def signup_cohorts(user_day: DataFrame) -> DataFrame:
    """Per user with a signup among the events read (lookback included): ``cohort``, its first day.

    From the cached per-user days rather than another scan of the events for a handful of signups.
    """
    from pyspark.sql import functions as F

    return user_day.where(F.col("signups") > 0).groupBy("user_id").agg(F.min("day").alias("cohort"))


def item_day(events: DataFrame) -> DataFrame:
    """Per (day, item_id) with any item event but create: impressions, clicks, likes, shares,
    follows and ``score`` (clicks + likes + shares, what popularity decays)."""
    from pyspark.sql import functions as F

    items = events.where(F.col("item_id").isNotNull() & (F.col("type") != "create"))
    daily = items.groupBy("day", "item_id").agg(
        count_of("impression").alias("impressions"),
        count_of("click").alias("clicks"),
        count_of("like").alias("likes"),
        count_of("share").alias("shares"),
        count_of("follow").alias("follows"),
    )
    return daily.withColumn("score", F.col("clicks") + F.col("likes") + F.col("shares"))


def trailing(
    daily: DataFrame,
    keys: Sequence[str],
    window: Window,
    sums: Sequence[str],
    span: int = 7,
    today: bool = True,
) -> DataFrame:
    """Trailing sums per key and reported day.

    ``daily`` has one row per (``day``, key). The result has one row per (key, ``date``)
    for every reported ``date`` whose span ``[date - span + 1, date]`` holds a row of the
    key, with ``<c>_<span>d`` (the sum over the span) and, if ``today``, ``<c>_1d`` (the
    value on ``date``, 0 if none) for each column ``c`` of ``sums``, and ``active_days``
    (rows in the span).
    """
    from pyspark.sql import functions as F

    # Partitioned by key before each row is spread over its span, so the spread rows aggregate
    # where they are; a ``daily`` already partitioned by the keys is not shuffled again.
    span_days = F.explode(F.sequence(F.col("day"), F.date_add("day", span - 1)))
    spread = daily.repartition(*keys).withColumn("date", span_days)
    spread = spread.where(F.col("date").between(F.lit(window.start), F.lit(window.end)))
    aggs = [F.sum(c).alias(f"{c}_{span}d") for c in sums]
    if today:
        same_day = F.col("day") == F.col("date")
        aggs += [F.sum(F.when(same_day, F.col(c)).otherwise(0)).alias(f"{c}_1d") for c in sums]
    aggs.append(F.count(F.lit(1)).cast("int").alias("active_days"))
    return spread.groupBy(*keys, "date").agg(*aggs)


def day_number(day: str | Column, origin: date) -> Column:
    """Days from ``origin`` to ``day`` (int)."""
    from pyspark.sql import functions as F

    d = F.col(day) if isinstance(day, str) else day
    return F.datediff(d, F.lit(origin))


def decayed(score: str, day_num: str, partition: str, half_life_days: float) -> Column:
    """Running decayed sum over a key's rows: ``sum_{t <= d} score_t * 0.5^((d - t) / half_life)``.

    Written as ``2^(-d/h) * cumsum(score_t * 2^(t/h))`` so it is one window function; the
    caller keeps ``d / h`` below :data:`MAX_DECAY_EXPONENT` (day numbers start at the first
    day read).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window as W

    if half_life_days <= 0:
        raise ValueError("half_life_days must be > 0")
    running = W.partitionBy(partition).orderBy(day_num).rowsBetween(W.unboundedPreceding, W.currentRow)
    grown = F.col(score) * F.pow(F.lit(2.0), F.col(day_num) / half_life_days)
    return F.sum(grown).over(running) * F.pow(F.lit(2.0), -F.col(day_num) / half_life_days)
