"""A/B outcomes per day, experiment and arm: Spark reduces events to sufficient statistics, the driver tests.

Each slate event is named by the experiment in force at its time (:class:`ExperimentLabels`, from
the registry's experiment log; ``default`` without one) and its UTC day. Per (day, experiment,
arm, user) the job counts impressions, clicks and engagement (clicks + likes + shares); users are
those with at least one impression in the arm that day. Per (day, experiment, arm) it keeps the
count, mean and sample variance of per-user CTR and engagement, the per-user sums the
delta method needs for the pooled CTR, and the D1 inputs of the arm's users who signed up that
day; per (day, experiment, arm, model_version) the impressions, to name the version that served
the arm. Those few rows come to the driver, where :func:`compare_arms` compares every arm with
the control arm of the same day and experiment (:mod:`components.etl.stats`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from components.etl.aggregates import signup_cohorts
from components.etl.stats import (
    Moments,
    RatioSums,
    expected_shares,
    prob_positive,
    ratio_delta,
    ratio_diff,
    srm,
    welch,
)
from components.etl.tables import COMPARED_METRICS, EXPERIMENTS
from components.registry.experiments import ExperimentConfig

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from components.etl.read import Window
    from components.registry.experiments import Timeline

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT: str = ExperimentConfig.model_fields["name"].default
"""The experiment of events outside the log (no log, or before its first record): serving's default."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(when: datetime) -> int:
    """Microseconds since the epoch (exact, no float rounding)."""
    return (when - _EPOCH) // timedelta(microseconds=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class ExperimentLabels:
    """Which experiment an event belongs to, by its time, and each experiment's configured shares.

    ``spans`` are ``(name, start_us, end_us)`` (end None: still live) of the log's records that
    overlap the window; an event before the first span is :data:`DEFAULT_EXPERIMENT`'s.
    ``shares`` maps an experiment's name to its arms' shares (a name recorded twice: the later).
    """

    spans: tuple[tuple[str, int, int | None], ...] = ()
    shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def of(cls, timeline: Timeline | None, start: date, end: date) -> ExperimentLabels:
        """The labels of days ``start..end`` from an experiment log's timeline (None: no log)."""
        if timeline is None:
            return cls()
        low, high = _micros(_midnight(start)), _micros(_midnight(end + timedelta(days=1)))
        spans: list[tuple[str, int, int | None]] = []
        shares: dict[str, Mapping[str, float]] = {}
        for (name, began, ended), record in zip(timeline.spans(), timeline.records, strict=True):
            s, e = _micros(began), None if ended is None else _micros(ended)
            if s < high and (e is None or (e > low and e > s)):
                spans.append((name, s, e))
                shares[name] = record.experiment.shares()
        return cls(tuple(spans), shares)

    def sql(self, micros: str) -> str:
        """A SQL expression (Spark and DuckDB) naming the experiment of an event at ``micros`` µs."""
        default = _quoted(DEFAULT_EXPERIMENT)
        if not self.spans:
            return default
        whens = [
            f"WHEN {micros} >= {s}" + (f" AND {micros} < {e}" if e is not None else "") + f" THEN {_quoted(name)}"
            for name, s, e in self.spans
        ]
        return f"CASE {' '.join(whens)} ELSE {default} END"


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def choose_control(arms: list[str], control: str | None) -> str:
    """The configured control arm, else ``control`` if present, else the alphabetically first."""
    if control is not None:
        if control not in arms:
            raise ValueError(f"control arm {control!r} not among the observed arms {arms}")
        return control
    return "control" if "control" in arms else sorted(arms)[0]


# --- Spark: per-arm sufficient statistics --------------------------------------------------


def slate_users(user_arm_day: DataFrame, window: Window) -> DataFrame:
    """Per (day, experiment, arm, user, model_version) of the reported days: impressions, clicks
    and engagement, from :func:`components.etl.aggregates.user_arm_day` (events in a slate).

    The finest grain both :func:`arm_summaries` (per user) and :func:`version_counts` (per
    version) sum up.
    """
    from pyspark.sql import functions as F

    slate = user_arm_day.where(F.col("arm").isNotNull() & F.col("day").between(F.lit(window.start), F.lit(window.end)))
    return slate.select(
        "day",
        "experiment",
        "arm",
        "user_id",
        "model_version",
        "impressions",
        "clicks",
        (F.col("clicks") + F.col("likes") + F.col("shares")).alias("engagement"),
    )


def arm_summaries(slate_users: DataFrame, user_day: DataFrame, window: Window) -> DataFrame:
    """Per (day, experiment, arm): users, sums, per-user moments and D1 inputs (a few rows).

    ``slate_users`` is :func:`slate_users`' frame.
    """
    from pyspark.sql import functions as F

    per_user = slate_users.groupBy("day", "experiment", "arm", "user_id").agg(
        *[F.sum(c).alias(c) for c in ("impressions", "clicks", "engagement")]
    )
    per_user = per_user.where(F.col("impressions") > 0)
    per_user = per_user.withColumn("ctr", F.col("clicks") / F.col("impressions"))

    first_days = F.col("cohort").between(F.lit(window.start), F.date_sub(F.lit(window.end), 1))
    cohort = signup_cohorts(user_day).where(first_days)
    next_day = user_day.where(F.col("impressions") > 0).select("user_id", F.col("day").alias("active_day"))
    d1 = (
        cohort.join(next_day, "user_id", "left")
        .groupBy("user_id", "cohort")
        .agg(F.max(F.when(F.col("active_day") == F.date_add("cohort", 1), 1).otherwise(0)).alias("returned"))
    )
    per_user = per_user.join(d1, "user_id", "left").withColumn(
        "returned", F.when(F.col("day") == F.col("cohort"), F.col("returned"))
    )

    return per_user.groupBy(F.col("day").alias("date"), "experiment", "arm").agg(
        F.count(F.lit(1)).alias("users"),
        F.sum("impressions").alias("impressions"),
        F.sum("clicks").alias("clicks"),
        F.sum(F.col("clicks") * F.col("clicks")).alias("clicks_sq"),
        F.sum(F.col("impressions") * F.col("impressions")).alias("impressions_sq"),
        F.sum(F.col("clicks") * F.col("impressions")).alias("clicks_impressions"),
        F.avg("ctr").alias("ctr_mean"),
        F.coalesce(F.var_samp("ctr"), F.lit(0.0)).alias("ctr_var"),
        F.avg("engagement").alias("eng_mean"),
        F.coalesce(F.var_samp("engagement"), F.lit(0.0)).alias("eng_var"),
        F.count("returned").alias("d1_cohort"),
        F.coalesce(F.sum("returned"), F.lit(0)).alias("d1_returned"),
    )


def version_counts(slate_users: DataFrame) -> DataFrame:
    """Impressions per (day, experiment, arm, model_version) of the reported days (a few rows).

    ``slate_users`` is :func:`slate_users`' frame; versions that served no impression are left out.
    """
    from pyspark.sql import functions as F

    shown = slate_users.where(F.col("impressions") > 0)
    return shown.groupBy(F.col("day").alias("date"), "experiment", "arm", "model_version").agg(
        F.sum("impressions").alias("impressions")
    )


# --- driver: the comparisons ---------------------------------------------------------------


Served = dict[tuple[Any, str, str], tuple[str | None, int, float | None]]
"""(date, experiment, arm) -> (main model_version, distinct versions, the main one's share of impressions)."""


def _served(versions: Iterable[Mapping[str, Any]]) -> Served:
    """(date, experiment, arm) -> (main model_version, distinct versions, its share of impressions).

    The main version is the one with most impressions (ties: the first by name); null versions
    (events without one) count in the total but never as the main version.
    """
    counts: dict[tuple[Any, str, str], dict[str | None, int]] = {}
    for v in versions:
        key = (v["date"], str(v["experiment"]), str(v["arm"]))
        by_version = counts.setdefault(key, {})
        by_version[v["model_version"]] = by_version.get(v["model_version"], 0) + int(v["impressions"])
    served: Served = {}
    for key, by_version in counts.items():
        named = sorted(((-n, name) for name, n in by_version.items() if name is not None))
        total = sum(by_version.values())
        if named and total:
            served[key] = (named[0][1], len(named), -named[0][0] / total)
        else:
            served[key] = (None, 0, None)
    return served


def _moments(row: Mapping[str, Any], metric: str) -> Moments:
    """Per-user moments of one metric of one arm (D1: a 0/1 value per cohort user)."""
    if metric == "ctr":
        return Moments(int(row["users"]), float(row["ctr_mean"]), float(row["ctr_var"]))
    if metric == "engagement":
        return Moments(int(row["users"]), float(row["eng_mean"]), float(row["eng_var"]))
    n, returned = int(row["d1_cohort"]), int(row["d1_returned"])
    p = returned / n if n else 0.0
    return Moments(n, p, p * (1.0 - p) * n / (n - 1) if n >= 2 else 0.0)


def _ratio(row: Mapping[str, Any]) -> RatioSums:
    return RatioSums(
        n=int(row["users"]),
        x=float(row["clicks"]),
        y=float(row["impressions"]),
        xx=float(row["clicks_sq"]),
        yy=float(row["impressions_sq"]),
        xy=float(row["clicks_impressions"]),
    )


def _comparison(base: Mapping[str, Any] | None, r: Mapping[str, Any]) -> dict[str, Any]:
    """The comparison columns of arm ``r`` against the control ``base`` (all null without one)."""
    out: dict[str, Any] = {"prob_beats_control": None}
    for metric in COMPARED_METRICS:
        a = _moments(base, metric) if base is not None else None
        b = _moments(r, metric)
        defined = a is not None and (metric != "d1" or (a.n > 0 and b.n > 0))
        result = welch(a, b) if a is not None and defined else None
        out[f"{metric}_diff"] = b.mean - a.mean if a is not None and defined else None
        out[f"{metric}_diff_low"] = result.low if result else None
        out[f"{metric}_diff_high"] = result.high if result else None
        out[f"{metric}_p_value"] = result.p_value if result else None
        if metric == "ctr" and result is not None:
            out["prob_beats_control"] = prob_positive(result)
    pooled, base_pooled = ratio_delta(_ratio(r)), ratio_delta(_ratio(base)) if base is not None else None
    interval = ratio_diff(base_pooled, pooled) if base_pooled and pooled else None
    out["ctr_pooled_diff"] = _pooled(r) - _pooled(base) if base is not None else None
    out["ctr_pooled_diff_low"] = interval.low if interval else None
    out["ctr_pooled_diff_high"] = interval.high if interval else None
    out["ctr_pooled_p_value"] = interval.p_value if interval else None
    return out


def _pooled(row: Mapping[str, Any]) -> float:
    return row["clicks"] / row["impressions"] if row["impressions"] else 0.0


def _compare_group(
    by_arm: Mapping[str, Mapping[str, Any]],
    control: str | None,
    shares: dict[str, float],
    served: Served,
) -> list[dict[str, Any]]:
    """The rows of one (date, experiment): every arm against that group's control arm."""
    arms = sorted(by_arm)
    ctrl = control if control is not None else choose_control(arms, None)
    base = by_arm.get(ctrl)  # None: the configured control did not serve this experiment that day
    test = srm({a: int(by_arm[a]["users"]) for a in arms}, shares)
    out = []
    for arm in arms:
        r = by_arm[arm]
        version, n_versions, version_share = served.get((r["date"], str(r["experiment"]), arm), (None, 0, None))
        pooled = ratio_delta(_ratio(r))
        row: dict[str, Any] = {
            "date": r["date"],
            "experiment": str(r["experiment"]),
            "arm": arm,
            "model_version": version,
            "model_versions": n_versions,
            "model_version_share": version_share,
            "control_arm": ctrl,
            "is_control": arm == ctrl,
            "users": int(r["users"]),
            "expected_share": float(shares.get(arm, 0.0)),
            "impressions": int(r["impressions"]),
            "clicks": int(r["clicks"]),
            "ctr": _pooled(r),
            "ctr_se": pooled.se if pooled else None,
            "ctr_per_user": float(r["ctr_mean"]),
            "engagement_per_user": float(r["eng_mean"]),
            "d1_cohort": int(r["d1_cohort"]),
            "d1_retention": r["d1_returned"] / r["d1_cohort"] if r["d1_cohort"] else None,
            "srm_chi2": test.chi2,
            "srm_p_value": test.p_value,
            **_comparison(base if arm != ctrl else None, r),
        }
        out.append({c: row[c] for c in EXPERIMENTS.column_names})
    return out


def compare_arms(
    rows: Sequence[Mapping[str, Any]],
    control: str | None = None,
    split: Mapping[str, float] | None = None,
    versions: Iterable[Mapping[str, Any]] = (),
    experiment_shares: Mapping[str, Mapping[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """The experiments table's rows from per-arm summaries (driver side, pure Python).

    ``rows`` are :func:`arm_summaries` rows as dicts, ``versions`` :func:`version_counts` rows.
    Within each (date, experiment) every arm other than the control is compared with it: Welch
    intervals on per-user CTR, engagement and D1, the delta-method interval of the pooled CTR,
    ``P(ctr_diff > 0)``; the SRM test covers the group's arms against the experiment's shares
    from ``experiment_shares`` (the log; an observed arm the experiment lacks has share 0, so it
    flags a mismatch), else ``split``, else equal shares. A configured ``control`` absent from a
    group leaves that group's rows without comparisons.
    """
    groups: dict[tuple[Any, str], dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["date"], str(r["experiment"])), {})[str(r["arm"])] = r
    served = _served(versions)
    out: list[dict[str, Any]] = []
    for (day, experiment), by_arm in sorted(groups.items()):
        configured = (experiment_shares or {}).get(experiment)
        if configured is not None:
            shares = {**dict.fromkeys(by_arm, 0.0), **configured}
        else:
            shares = expected_shares(sorted(by_arm), split)
        if control is not None and control not in by_arm:
            log.warning("control arm %r did not serve %s on %s: no comparisons", control, experiment, day)
        out.extend(_compare_group(by_arm, control, shares, served))
    return out


def experiments(
    spark: SparkSession,
    user_arm_day: DataFrame,
    user_day: DataFrame,
    window: Window,
    control: str | None = None,
    split: Mapping[str, float] | None = None,
    *,
    labels: ExperimentLabels | None = None,
) -> DataFrame:
    """The experiments table: per-arm aggregates in Spark, the statistics on the driver.

    ``user_arm_day`` is :func:`components.etl.aggregates.user_arm_day` of the window's events
    with the experiment named by ``labels`` (None: no experiment log), which also give the
    configured shares of the SRM test.
    """
    labels = labels or ExperimentLabels()
    fine = slate_users(user_arm_day, window)
    summaries = [r.asDict() for r in arm_summaries(fine, user_day, window).collect()]
    versions = [r.asDict() for r in version_counts(fine).collect()]
    table = compare_arms(summaries, control, split, versions, labels.shares)
    return spark.createDataFrame([tuple(r.values()) for r in table], EXPERIMENTS.ddl())
