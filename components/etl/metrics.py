"""The metrics tables: dau, retention, item_popularity, user_item_engagement, creator_metrics,
exposure. Definitions agree with :mod:`simnet.metrics` on the same events (see docs/data.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.etl.aggregates import PAIR_TYPES, count_of, day_number, decayed, ratio, signup_cohorts
from components.etl.tables import (
    CREATOR_METRICS,
    DAU,
    EXPOSURE,
    ITEM_POPULARITY,
    RETENTION,
    USER_ITEM_ENGAGEMENT,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from components.etl.read import Window

RETENTION_HORIZONS = (1, 7, 30)
"""The day-N horizons of the retention table (columns d1, d7, d30)."""


def dau(days: DataFrame, user_window: DataFrame) -> DataFrame:
    """Per reported day: DAU, WAU and event totals, from the trailing per-user aggregate.

    ``user_window`` is :func:`components.etl.aggregates.trailing` of ``user_day`` (it has
    ``impressions_1d``, ``impressions_7d``, ``clicks_1d``, ...). Days without events get zeros.
    """
    from pyspark.sql import functions as F

    per_day = user_window.groupBy("date").agg(
        F.count(F.when(F.col("impressions_1d") > 0, True)).alias("dau"),
        F.count(F.when(F.col("impressions_7d") > 0, True)).alias("wau"),
        F.sum("impressions_1d").alias("impressions"),
        F.sum("clicks_1d").alias("clicks"),
        F.sum("likes_1d").alias("likes"),
        F.sum("shares_1d").alias("shares"),
    )
    counts = ["dau", "wau", "impressions", "clicks", "likes", "shares"]
    out = days.join(per_day, "date", "left").fillna(0, subset=counts)
    engaged = F.col("clicks") + F.col("likes") + F.col("shares")
    out = out.withColumn("ctr", ratio("clicks", "impressions"))
    out = out.withColumn("engagement_per_active_user", ratio(engaged, "dau"))
    return out.select(*DAU.column_names)


def retention(user_day: DataFrame, window: Window) -> DataFrame:
    """Day-N retention per signup cohort of the reported days.

    A user's cohort is the day of their earliest signup event read (lookback included); only
    cohorts inside the window are reported. Active = at least one impression that day.
    ``d{h}`` is null where ``cohort + h`` is after the window's end.
    """
    from pyspark.sql import functions as F

    cohorts = signup_cohorts(user_day).where(F.col("cohort").between(F.lit(window.start), F.lit(window.end)))
    active = user_day.where(F.col("impressions") > 0).select("user_id", F.col("day").alias("active_day"))
    offsets = cohorts.join(active, "user_id").select(
        "cohort", "user_id", F.datediff("active_day", "cohort").alias("offset")
    )
    returned = offsets.groupBy("cohort").agg(
        *[F.count_distinct(F.when(F.col("offset") == h, F.col("user_id"))).alias(f"r{h}") for h in RETENTION_HORIZONS]
    )
    sizes = cohorts.groupBy("cohort").agg(F.count(F.lit(1)).alias("size"))
    out = sizes.join(returned, "cohort", "left")
    cols: list[Column] = [F.col("cohort").alias("cohort_date"), F.col("size")]
    for h in RETENTION_HORIZONS:
        observable = F.date_add("cohort", h) <= F.lit(window.end)
        frac = F.coalesce(F.col(f"r{h}"), F.lit(0)).cast("double") / F.col("size")
        cols.append(F.when(observable, frac).otherwise(F.lit(None).cast("double")).alias(f"d{h}"))
    return out.select(*cols).select(*RETENTION.column_names)


def item_popularity(item_day: DataFrame, window: Window, half_life_days: float) -> DataFrame:
    """Per item per reported day with an impression, click, like or share, with decayed popularity.

    The running sum starts at the first day read, so popularity includes the lookback days.
    """
    from pyspark.sql import functions as F

    active = item_day.where(F.col("impressions") + F.col("score") > 0)
    active = active.withColumn("_d", day_number("day", window.first_read))
    active = active.withColumn("popularity", decayed("score", "_d", "item_id", half_life_days))
    active = active.where(F.col("day").between(F.lit(window.start), F.lit(window.end)))
    active = active.withColumnRenamed("day", "date").withColumn("ctr", ratio("clicks", "impressions"))
    return active.select(*ITEM_POPULARITY.column_names)


PAIR_EVENTS_PER_TASK = 2_000_000
"""Events one task of :func:`user_item_engagement` aggregates: about a million pairs, a hash map
that stays inside a task's share of a small heap (four tasks for 35 M events spilled and
collected garbage: 17-22 s against 12 s with 16, docs/data.md "Performance")."""


def user_item_engagement(reported: DataFrame, events: int = 0) -> DataFrame:
    """Per (user, item) over the reported days: counts, total dwell and the last event time.

    Pairs barely repeat (35 M events make 18.5 M pairs at 100,000 users x 7 days), so a partial
    aggregate before the shuffle would look every event up in a hash map for little reduction:
    each event is shuffled once by its pair, as a narrow numeric row (its type as a small
    code), and aggregated there (docs/data.md, "Performance"). ``events`` (the reported days'
    count, if known) sets the tasks: one per :data:`PAIR_EVENTS_PER_TASK`, at least the
    session's shuffle partitions.
    """
    from pyspark.sql import functions as F

    keys = ("user_id", "item_id")
    codes = {kind: number for number, kind in enumerate(PAIR_TYPES)}
    code = F.when(F.col("type") == PAIR_TYPES[0], 0)
    for kind in PAIR_TYPES[1:]:
        code = code.when(F.col("type") == kind, codes[kind])
    pairs = reported.where(F.col("type").isin(*PAIR_TYPES) & F.col("item_id").isNotNull()).select(
        *keys,
        "ts",
        code.cast("tinyint").alias("_kind"),
        F.when(F.col("type") == "dwell", F.col("dwell_ms")).alias("_dwell"),
    )
    configured = int(reported.sparkSession.conf.get("spark.sql.shuffle.partitions") or 1)
    tasks = max(configured, -(-events // PAIR_EVENTS_PER_TASK))
    out = (
        pairs.repartition(tasks, *keys)
        .groupBy(*keys)
        .agg(
            count_of(codes["impression"], "_kind").alias("impressions"),
            count_of(codes["click"], "_kind").alias("clicks"),
            count_of(codes["like"], "_kind").alias("likes"),
            count_of(codes["share"], "_kind").alias("shares"),
            F.coalesce(F.sum("_dwell"), F.lit(0)).alias("dwell_ms"),
            F.max("ts").alias("last_ts"),
        )
    )
    return out.select(*USER_ITEM_ENGAGEMENT.column_names)


def creator_metrics(item_day: DataFrame, catalogue: DataFrame, window: Window) -> DataFrame:
    """Per creator per reported day: items posted and what their items received."""
    from pyspark.sql import functions as F

    owners = F.broadcast(catalogue.select("item_id", "creator_id"))
    received = (
        item_day.where(F.col("day").between(F.lit(window.start), F.lit(window.end)))
        .join(owners, "item_id")
        .groupBy(F.col("day").alias("date"), "creator_id")
        .agg(
            F.sum("impressions").alias("impressions"),
            F.sum("clicks").alias("clicks"),
            F.sum("follows").alias("followers_gained"),
        )
    )
    posted = (
        catalogue.where(F.col("created_day").between(F.lit(window.start), F.lit(window.end)))
        .groupBy(F.col("created_day").alias("date"), "creator_id")
        .agg(F.count(F.lit(1)).alias("items_posted"))
    )
    out = posted.join(received, ["date", "creator_id"], "full")
    out = out.fillna(0, subset=["items_posted", "impressions", "clicks", "followers_gained"])
    return out.select(*CREATOR_METRICS.column_names)


def created_by_day(days: DataFrame, catalogue: DataFrame) -> DataFrame:
    """Per reported day (``date``): ``created``, catalogue items created on or before it."""
    from pyspark.sql import functions as F

    per_day = catalogue.groupBy("created_day").agg(F.count(F.lit(1)).alias("n"))
    joined = days.join(F.broadcast(per_day), F.col("created_day") <= F.col("date"), "left")
    return joined.groupBy("date").agg(F.coalesce(F.sum("n"), F.lit(0)).alias("created"))


def exposure(days: DataFrame, item_day: DataFrame, catalogue: DataFrame, window: Window) -> DataFrame:
    """Per reported day: catalogue size, coverage, exposure and click Gini, top-10% share.

    The catalogue of a day holds the items created on or before it plus any item seen that
    day without such a create (a cut history), so coverage never exceeds 1. With the day's
    ``rows`` item rows ranked ``r = 1..rows`` ascending and the ``n - rows`` unseen items as
    zeros ranked first, ``G = sum (2 (n - rows + r) - n - 1) x / (n sum x)``; the top
    ``k = ceil(0.1 n)`` items are the rows with ``r > rows - k``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window as W

    reported = item_day.where(F.col("day").between(F.lit(window.start), F.lit(window.end)))
    reported = reported.select(F.col("day").alias("date"), "item_id", "impressions", "clicks")
    reported = reported.where((F.col("impressions") > 0) | (F.col("clicks") > 0))
    known = F.broadcast(catalogue.select("item_id", "created_day"))
    rows = reported.join(known, "item_id", "left").join(F.broadcast(created_by_day(days, catalogue)), "date")
    unknown = (F.col("created_day").isNull() | (F.col("created_day") > F.col("date"))).cast("int")
    by_day = W.partitionBy("date")
    rows = rows.select(
        "date",
        "impressions",
        "clicks",
        (F.col("created") + F.sum(unknown).over(by_day)).alias("n"),
        F.count(F.lit(1)).over(by_day).alias("rows"),
        F.row_number().over(by_day.orderBy("impressions")).alias("r_imp"),
        F.row_number().over(by_day.orderBy("clicks")).alias("r_clk"),
    )
    offset = F.col("n") - F.col("rows")
    top = F.col("r_imp") > F.col("rows") - F.ceil(F.round(F.col("n") * 0.1, 9))
    per_day = rows.groupBy("date").agg(
        F.first("n").alias("n"),
        F.count(F.when(F.col("impressions") > 0, True)).alias("items_impressed"),
        F.sum("impressions").cast("double").alias("s_imp"),
        F.sum("clicks").cast("double").alias("s_clk"),
        F.sum((offset + F.col("r_imp")) * F.col("impressions")).cast("double").alias("rx_imp"),
        F.sum((offset + F.col("r_clk")) * F.col("clicks")).cast("double").alias("rx_clk"),
        F.sum(F.when(top, F.col("impressions")).otherwise(0)).cast("double").alias("top"),
    )

    def gini(rx: str, total: str) -> Column:
        n, s = F.col("n").cast("double"), F.col(total)
        value = (2.0 * F.col(rx) - (n + 1.0) * s) / (n * s)
        return F.when(s > 0, F.least(F.greatest(value, F.lit(0.0)), F.lit(1.0))).otherwise(F.lit(0.0))

    stats = per_day.select(
        "date",
        "n",
        "items_impressed",
        gini("rx_imp", "s_imp").alias("exposure_gini"),
        ratio("top", "s_imp").alias("top10_share"),
        gini("rx_clk", "s_clk").alias("click_gini"),
    )
    out = days.join(F.broadcast(created_by_day(days, catalogue)), "date", "left").join(stats, "date", "left")
    out = out.select(
        "date",
        F.coalesce(F.col("n"), F.col("created"), F.lit(0)).alias("catalogue_size"),
        F.coalesce(F.col("items_impressed"), F.lit(0)).alias("items_impressed"),
        *[F.coalesce(F.col(c), F.lit(0.0)).alias(c) for c in ("exposure_gini", "top10_share", "click_gini")],
    )
    out = out.withColumn("coverage", ratio("items_impressed", "catalogue_size"))
    return out.select(*EXPOSURE.column_names)
