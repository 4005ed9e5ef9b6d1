"""The feature tables for the feature store: user_features, item_features, creator_features.

Each row describes an entity on a reported day and carries ``event_timestamp``, midnight UTC
closing that day: the features use that day's events, so they are known from then on (Feast
joins a row to training examples at or after it). Trailing figures cover the 7 days ending
on the row's date, so the job reads 6 lookback days before the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from components.etl.aggregates import day_number, decayed, ratio, trailing
from components.etl.content import IMAGE_COLUMNS, image_stats, text_vectors
from components.etl.tables import CREATOR_FEATURES, ITEM_FEATURES, USER_FEATURES
from simnet.protocol import IMAGE_SIZE

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from components.etl.read import Window

USER_SUMS = ("events", "impressions", "clicks", "likes", "shares", "dwell_ms", "dwells")
"""The user_day columns summed over trailing windows."""


def event_timestamp(day: str = "date") -> Column:
    """Midnight UTC at the end of ``day`` (the session time zone is UTC)."""
    from pyspark.sql import functions as F

    return F.date_add(F.col(day), 1).cast("timestamp")


def content_ddl(dim: int) -> str:
    """Spark DDL of :func:`content_features`' output."""
    images = ", ".join(f"{c} double" for c in IMAGE_COLUMNS)
    return f"item_id bigint, text_vec array<float>, text_len int, {images}"


def content_schema() -> Any:
    """The pyarrow schema of :func:`content_batches`' output."""
    import pyarrow as pa

    fields = [("item_id", pa.int64()), ("text_vec", pa.list_(pa.float32())), ("text_len", pa.int32())]
    return pa.schema(fields + [(c, pa.float64()) for c in IMAGE_COLUMNS])


def content_batches(batches: Iterable[Any], dim: int) -> Iterator[Any]:
    """(item_id, text, image) Arrow batches in, content feature batches out.

    The body of Spark's ``mapInArrow`` here; any other engine (the benchmark's DuckDB peer,
    a serving-side backfill) gets the very same features by feeding it Arrow batches.
    """
    import numpy as np
    import pyarrow as pa

    for batch in batches:
        n = batch.num_rows
        texts = batch.column("text").to_pylist()
        vectors = text_vectors(texts, dim)
        images = batch.column("image")
        stats = np.full((n, len(IMAGE_COLUMNS)), np.nan)
        lengths = images.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
        valid = lengths == IMAGE_SIZE
        if valid.any():
            rows = images.filter(pa.array(valid))
            pixels = rows.flatten().to_numpy(zero_copy_only=False).reshape(-1, IMAGE_SIZE)
            stats[valid] = image_stats(pixels)
        columns: dict[str, Any] = {
            "item_id": batch.column("item_id"),
            "text_vec": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim).cast(pa.list_(pa.float32())),
            "text_len": pa.array([len((t or "").split()) for t in texts], pa.int32()),
        }
        for j, name in enumerate(IMAGE_COLUMNS):
            columns[name] = pa.array(stats[:, j], pa.float64(), mask=np.isnan(stats[:, j]))
        yield pa.RecordBatch.from_pydict(columns)


def content_features(catalogue: DataFrame, dim: int) -> DataFrame:
    """Per catalogue item: ``text_vec``, ``text_len`` and the image statistics (numpy, in batches)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        return content_batches(batches, dim)

    return catalogue.select("item_id", "text", "image").mapInArrow(run, content_ddl(dim))


def user_window(user_day: DataFrame, window: Window) -> DataFrame:
    """Trailing 1- and 7-day sums of :data:`USER_SUMS` per user and reported day."""
    return trailing(user_day, ["user_id"], window, USER_SUMS)


def user_features(user_win: DataFrame, events: DataFrame, content: DataFrame, window: Window, dim: int) -> DataFrame:
    """Per user per reported day with activity in the trailing 7 days."""
    from pyspark.sql import functions as F

    # Shuffled by user as narrow (day, user, item) rows, before the join widens them with a
    # vector: the per-day sums, the trailing window and the join with ``user_win`` then need
    # no exchange of their own (docs/data.md, "Performance").
    clicks = events.where(F.col("type") == "click").select("day", "user_id", "item_id").repartition("user_id")
    vec = F.broadcast(content.select("item_id", "text_vec"))
    clicked = clicks.join(vec, "item_id")
    profile_day = clicked.groupBy("day", "user_id").agg(
        F.count(F.lit(1)).alias("vecs"), *[F.sum(F.col("text_vec")[i]).alias(f"v{i}") for i in range(dim)]
    )
    profile = trailing(profile_day, ["user_id"], window, ["vecs", *[f"v{i}" for i in range(dim)]], today=False)
    mean = F.array(*[(F.col(f"v{i}_7d") / F.col("vecs_7d")).cast("float") for i in range(dim)])
    profile = profile.select("user_id", "date", mean.alias("content_profile"))
    zeros = F.array_repeat(F.lit(0.0).cast("float"), dim)

    out = user_win.join(profile, ["user_id", "date"], "left")
    out = out.select(
        "user_id",
        "date",
        event_timestamp().alias("event_timestamp"),
        "impressions_1d",
        "clicks_1d",
        "impressions_7d",
        "clicks_7d",
        "likes_7d",
        "shares_7d",
        "active_days",
        ratio("clicks_7d", "impressions_7d").alias("ctr_7d"),
        ratio("likes_7d", "clicks_7d").alias("like_rate_7d"),
        ratio("dwell_ms_7d", "dwells_7d").alias("mean_dwell_ms_7d"),
        F.coalesce(F.col("content_profile"), zeros).alias("content_profile"),
    )
    return out.withColumnRenamed("active_days", "active_days_7d").select(*USER_FEATURES.column_names)


def item_features(
    item_day: DataFrame,
    catalogue: DataFrame,
    content: DataFrame,
    read_days: DataFrame,
    window: Window,
    half_life_days: float,
) -> DataFrame:
    """Per catalogue item per reported day: age, 1/7-day counts, popularity and content."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window as W

    items = catalogue.select("item_id", "creator_id", "created_ts", "created_day")
    grid = items.crossJoin(F.broadcast(read_days.withColumnRenamed("date", "day")))
    grid = grid.where(F.col("day") >= F.col("created_day"))
    daily = item_day.select("day", "item_id", "impressions", "clicks", "score")
    grid = grid.join(daily, ["day", "item_id"], "left").fillna(0, subset=["impressions", "clicks", "score"])
    grid = grid.withColumn("_d", day_number("day", window.first_read))
    span = W.partitionBy("item_id").orderBy("_d").rangeBetween(-6, 0)
    grid = grid.select(
        "*",
        F.sum("impressions").over(span).alias("impressions_7d"),
        F.sum("clicks").over(span).alias("clicks_7d"),
        decayed("score", "_d", "item_id", half_life_days).alias("popularity"),
    )
    grid = grid.where(F.col("day").between(F.lit(window.start), F.lit(window.end)))
    grid = grid.withColumnRenamed("day", "date").withColumn("event_timestamp", event_timestamp())
    age = (F.col("event_timestamp").cast("double") - F.col("created_ts").cast("double")) / 86_400.0
    out = grid.join(F.broadcast(content), "item_id", "left").select(
        "*",
        age.alias("age_days"),
        F.col("impressions").alias("impressions_1d"),
        F.col("clicks").alias("clicks_1d"),
        ratio("clicks_7d", "impressions_7d").alias("ctr_7d"),
    )
    return out.select(*ITEM_FEATURES.column_names)


def creator_features(item_day: DataFrame, catalogue: DataFrame, reported_days: DataFrame, window: Window) -> DataFrame:
    """Per creator per reported day with at least one catalogue item by then."""
    from pyspark.sql import functions as F

    owners = F.broadcast(catalogue.select("item_id", "creator_id"))
    received = (
        item_day.join(owners, "item_id")
        .groupBy("day", "creator_id")
        .agg(
            F.sum("impressions").alias("impressions"),
            F.sum("clicks").alias("clicks"),
            F.sum("follows").alias("follows"),
        )
    )
    posted = (
        catalogue.where(F.col("created_day") >= F.lit(window.first_read))
        .groupBy(F.col("created_day").alias("day"), "creator_id")
        .agg(F.count(F.lit(1)).alias("posted"))
    )
    sums = ["impressions", "clicks", "follows", "posted"]
    daily = received.join(posted, ["day", "creator_id"], "full").fillna(0, subset=sums)
    recent = trailing(daily, ["creator_id"], window, sums)

    owned = catalogue.select("creator_id", "created_day").join(
        F.broadcast(reported_days), F.col("created_day") <= F.col("date")
    )
    owned = owned.groupBy("creator_id", "date").agg(F.count(F.lit(1)).alias("catalogue_items"))
    out = owned.join(recent, ["creator_id", "date"], "left").fillna(0, subset=[f"{c}_7d" for c in sums])
    return out.select(
        "creator_id",
        "date",
        event_timestamp().alias("event_timestamp"),
        "catalogue_items",
        F.col("posted_7d").alias("items_posted_7d"),
        "impressions_7d",
        "clicks_7d",
        F.col("follows_7d").alias("followers_gained_7d"),
        ratio("clicks_7d", "impressions_7d").alias("ctr_7d"),
    ).select(*CREATOR_FEATURES.column_names)
