"""Reading the event lake: the window's events and the catalogue of created items.

The lake is ``<root>/dt=YYYY-MM-DD/hour=HH/*.parquet`` with :data:`simnet.protocol.EVENT_SCHEMA`
(the layout of :mod:`simnet.protocol`). The root is what Spark reads: a local path or an
object-store URL (``s3a://bucket/events``); :mod:`components.etl.staging` decides which. The schema is
given explicitly, so Spark reads no footers to infer it, and partition pruning on ``dt``
keeps reads to the days asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from simnet.protocol import EVENT_SCHEMA, LAKE_PARTITIONS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_ARROW_TO_SPARK = {
    "string": "string",
    "timestamp[us, tz=UTC]": "timestamp",
    "int64": "bigint",
    "int32": "int",
    "list<item: uint8>": "array<smallint>",
}

DAY, HOUR = LAKE_PARTITIONS
"""The lake's partition columns: the UTC day (``dt``, read as a date) and hour (``hour``)."""

EVENT_COLUMNS = (
    "ts",
    "day",
    "user_id",
    "type",
    "item_id",
    "request_id",
    "position",
    "arm",
    "model_version",
    "dwell_ms",
)
"""The columns of the event frame every aggregation starts from (no ids, no content payload)."""


def lake_ddl() -> str:
    """Spark DDL of the lake: EVENT_SCHEMA plus the ``dt`` and ``hour`` partition columns."""
    fields = [f"`{f.name}` {_ARROW_TO_SPARK[str(f.type)]}" for f in EVENT_SCHEMA]
    return ", ".join([*fields, f"`{DAY}` date", f"`{HOUR}` int"])


@dataclass(frozen=True)
class Window:
    """The days the ETL reports on, and the days it reads before them for trailing windows."""

    start: date  # first day reported
    end: date  # last day reported (inclusive)
    lookback_days: int = 6  # extra days read before start: 7-day windows and popularity history

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.lookback_days < 0:
            raise ValueError("lookback_days must be >= 0")

    @property
    def first_read(self) -> date:
        """The first day read from the lake."""
        return self.start - timedelta(days=self.lookback_days)

    @property
    def days(self) -> list[date]:
        """Reported days, start to end."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def read_days(self) -> list[date]:
        """Every day read, first_read to end."""
        first = self.first_read
        return [first + timedelta(days=i) for i in range((self.end - first).days + 1)]


def lake_frame(spark: SparkSession, lake: str) -> DataFrame:
    """Every event of the lake (lazily), with the partition columns ``dt`` and ``hour``."""
    return spark.read.schema(lake_ddl()).parquet(lake.rstrip("/"))


def window_events(lake_df: DataFrame, window: Window) -> DataFrame:
    """The events of the read window (lookback included), with ``day`` = the dt partition."""
    from pyspark.sql import functions as F

    return (
        lake_df.where(F.col(DAY).between(F.lit(window.first_read), F.lit(window.end)))
        .withColumnRenamed(DAY, "day")
        .select(*EVENT_COLUMNS)
    )


def catalogue(lake_df: DataFrame, end: date) -> DataFrame:
    """One row per item created on or before ``end`` (whole lake history): its first create.

    Columns: ``item_id``, ``creator_id``, ``created_ts``, ``created_day``, ``text``, ``image``.
    Only create events carry content, so this scan reads the ``type`` column of every day
    and the payload of the few matching rows.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window as W

    creates = lake_df.where((F.col(DAY) <= F.lit(end)) & (F.col("type") == "create")).select(
        "item_id",
        F.col("user_id").alias("creator_id"),
        F.col("ts").alias("created_ts"),
        F.col(DAY).alias("created_day"),
        "text",
        "image",
    )
    first = W.partitionBy("item_id").orderBy("created_ts")
    return creates.withColumn("_n", F.row_number().over(first)).where("_n = 1").drop("_n")
