"""The ETL job: read a window of the lake once, derive every table, write each as Parquet.

:func:`run_etl` is handed a Spark session (see :mod:`components.etl.session`), so the same
function runs embedded (``local[*]``) and on a cluster; roots may be object-store URLs, read
and written directly or staged through a local folder (:mod:`components.etl.staging`).
The window's events (lookback included) are read without the content payload and not cached:
each table scans the columns it needs; the daily per-user and per-item aggregates, the
catalogue and the content features are cached, and the small tables are derived from them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from components.etl import aggregates, experiments, features, interactions, metrics
from components.etl.read import Window, catalogue, lake_frame, window_events
from components.etl.staging import spark_roots
from components.etl.tables import BY_NAME, POPULARITY_HALF_LIFE_DAYS, TABLES, TEXT_DIM
from components.storage import StorageOptions, resolve

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from components.registry.experiments import Timeline

log = logging.getLogger(__name__)


class EtlOptions(BaseModel):
    """How the job computes its tables; the defaults are what docs/data.md describes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # days read before start, so 7-day windows (WAU, 7d features) are whole on the first day
    lookback_days: int = Field(default=6, ge=0, le=365)
    # half-life of the decayed popularity score; 1 day: yesterday's engagement counts half
    popularity_half_life_days: float = Field(default=POPULARITY_HALF_LIFE_DAYS, gt=0)
    # dimensions of the hashed text vector; the feature schema documents 32
    text_dim: int = Field(default=TEXT_DIM, ge=1, le=4096)
    # the arm every other arm is compared with; None: "control" if present, else the first by name
    control_arm: str | None = None
    # expected share of users per arm for the SRM test of experiments the log does not name; None: equal
    arm_split: dict[str, float] | None = None
    # which tables to write (names from components.etl.tables); None: all of them
    tables: tuple[str, ...] | None = None


@dataclass
class EtlResult:
    """What a run wrote: rows and seconds per table, the input size and the total time."""

    start: date
    end: date
    out: str
    events: int  # events of the reported days read from the lake
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data


Step = Callable[[str], None]


@contextmanager
def _timed(result: EtlResult, name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    result.seconds[name] = round(time.perf_counter() - started, 3)


def _write(df: DataFrame, path: str, plain: tuple[str, ...] = ()) -> int:
    """Write ``df`` as Parquet (overwriting) and return its row count, observed during the write.

    The ``plain`` columns are written without a dictionary (Parquet's per-column setting).
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    seen = Observation()
    writer = df.observe(seen, F.count(F.lit(1)).alias("rows")).write.mode("overwrite")
    for column in plain:
        writer = writer.option(f"parquet.enable.dictionary#{column}", "false")
    writer.parquet(path)
    return int(seen.get["rows"])


def run_etl(
    spark: SparkSession,
    lake: str,
    start: date,
    end: date,
    out: str,
    options: EtlOptions | None = None,
    on_step: Step | None = None,
    *,
    storage: StorageOptions | None = None,
    timeline: Timeline | None = None,
) -> EtlResult:
    """Turn the lake's events of days ``[start, end]`` into the tables of :mod:`components.etl.tables`.

    ``lake`` and ``out`` are paths or object-store URLs (reached with ``storage``); each table
    goes to ``<out>/<name>/`` (overwritten). ``on_step`` is called with each table's name before
    it is computed (for progress bars). ``timeline`` is the experiment log's
    (:meth:`components.registry.experiments.ExperimentLog.timeline`): it names each event's
    experiment in the experiments table; None names every event's experiment ``default``.
    Raises ValueError for an empty window, an unknown table name or an empty root,
    FileNotFoundError for a staged lake that does not exist.
    """
    opts = options or EtlOptions()
    wanted = opts.tables or tuple(t.name for t in TABLES)
    unknown = sorted(set(wanted) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown tables {unknown}; known: {sorted(BY_NAME)}")
    window = Window(start, end, opts.lookback_days)
    if (window.end - window.first_read).days / opts.popularity_half_life_days > aggregates.MAX_DECAY_EXPONENT:
        raise ValueError("window too long for the popularity half-life; raise the half-life")
    lake_root, out_root = resolve(lake, storage), resolve(out, storage)
    began = time.perf_counter()
    with spark_roots(spark, lake_root, out_root, end) as roots:
        result = _run(spark, roots.lake, roots.out, window, opts, wanted, on_step, timeline)
    result.out = out_root.url
    result.total_seconds = round(time.perf_counter() - began, 3)
    return result


def _run(
    spark: SparkSession,
    lake: str,
    out: str,
    window: Window,
    opts: EtlOptions,
    wanted: tuple[str, ...],
    on_step: Step | None,
    timeline: Timeline | None = None,
) -> EtlResult:
    """The job on roots Spark opens itself (see :func:`run_etl`)."""
    from pyspark import StorageLevel

    start, end = window.start, window.end
    keep = StorageLevel.MEMORY_AND_DISK

    from pyspark.sql import functions as F

    lake_df = lake_frame(spark, lake)
    # Not cached: each table scans only the columns it needs and aggregates before it shuffles.
    # Caching the window's events (after one shuffle by user) cost more than the scans it saved:
    # 150-170 s against 120-129 s for the 7-day window of 100k users (docs/data.md, "Performance").
    events = window_events(lake_df, window)
    reported = events.where(F.col("day").between(F.lit(start), F.lit(end)))
    result = EtlResult(start=start, end=end, out=out, events=0)
    with _timed(result, "read"):
        result.events = reported.count()
    log.info("read %s events of %s..%s from %s", result.events, start, end, lake)

    cat = catalogue(lake_df, end).persist(keep)
    labels = experiments.ExperimentLabels.of(timeline, start, end)
    arm_day = aggregates.user_arm_day(events, F.expr(labels.sql("unix_micros(ts)"))).persist(keep)
    user_day = aggregates.user_day(arm_day).persist(keep)
    item_day = aggregates.item_day(events).persist(keep)
    days = aggregates.days_frame(spark, window.days)
    read_days = aggregates.days_frame(spark, window.read_days)
    content = features.content_features(cat, opts.text_dim).persist(keep)
    user_win = features.user_window(user_day, window).persist(keep)

    builders: dict[str, Callable[[], DataFrame]] = {
        "dau": lambda: metrics.dau(days, user_win),
        "retention": lambda: metrics.retention(user_day, window),
        "item_popularity": lambda: metrics.item_popularity(item_day, window, opts.popularity_half_life_days),
        "user_item_engagement": lambda: metrics.user_item_engagement(reported, result.events),
        "creator_metrics": lambda: metrics.creator_metrics(item_day, cat, window),
        "exposure": lambda: metrics.exposure(days, item_day, cat, window),
        "experiments": lambda: experiments.experiments(
            spark, arm_day, user_day, window, opts.control_arm, opts.arm_split, labels=labels
        ),
        "user_features": lambda: features.user_features(user_win, events, content, window, opts.text_dim),
        "item_features": lambda: features.item_features(
            item_day, cat, content, read_days, window, opts.popularity_half_life_days
        ),
        "creator_features": lambda: features.creator_features(item_day, cat, days, window),
        "interactions": lambda: interactions.interactions(reported),
    }
    try:
        for name in (t.name for t in TABLES if t.name in wanted):
            if on_step:
                on_step(name)
            with _timed(result, name):
                result.rows[name] = _write(builders[name](), f"{out.rstrip('/')}/{name}", BY_NAME[name].plain)
            log.info("wrote %s: %s rows in %.1f s", name, result.rows[name], result.seconds[name])
    finally:
        for frame in (user_win, content, item_day, user_day, arm_day, cat):
            frame.unpersist()
    return result
