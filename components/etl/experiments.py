"""A/B outcomes by arm: Spark reduces events to per-arm sufficient statistics, the driver tests.

Per (arm, user) the job counts impressions, clicks and engagement (clicks + likes + shares)
on slate events that echo the arm; users are those with at least one impression in the arm.
Per arm it keeps the count, mean and sample variance of per-user CTR and engagement, pooled
clicks and impressions, and the D1 retention of the arm's users who signed up in the window.
Those few rows come to the driver, where :mod:`components.etl.stats` compares every arm with
the control.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from components.etl.aggregates import ENGAGEMENT_TYPES, count_of
from components.etl.stats import Moments, expected_shares, prob_b_beats_a, srm, welch
from components.etl.tables import EXPERIMENTS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from components.etl.read import Window


def choose_control(arms: list[str], control: str | None) -> str:
    """The configured control arm, else ``control`` if present, else the alphabetically first."""
    if control is not None:
        if control not in arms:
            raise ValueError(f"control arm {control!r} not among the observed arms {arms}")
        return control
    return "control" if "control" in arms else sorted(arms)[0]


def arm_summaries(reported: DataFrame, events: DataFrame, user_day: DataFrame, window: Window) -> DataFrame:
    """Per arm: users, impressions, clicks, per-user moments and D1 retention inputs (a few rows)."""
    from pyspark.sql import functions as F

    slate = reported.where(F.col("arm").isNotNull() & F.col("type").isin("impression", *ENGAGEMENT_TYPES))
    per_user = slate.groupBy("arm", "user_id").agg(
        count_of("impression").alias("impressions"),
        count_of("click").alias("clicks"),
        F.count(F.when(F.col("type").isin(*ENGAGEMENT_TYPES), True)).alias("engagement"),
    )
    per_user = per_user.where(F.col("impressions") > 0)
    per_user = per_user.withColumn("ctr", F.col("clicks") / F.col("impressions"))

    cohort = events.where(F.col("type") == "signup").groupBy("user_id").agg(F.min("day").alias("cohort"))
    cohort = cohort.where(F.col("cohort").between(F.lit(window.start), F.date_sub(F.lit(window.end), 1)))
    next_day = user_day.where(F.col("impressions") > 0).select("user_id", F.col("day").alias("active_day"))
    d1 = (
        cohort.join(next_day, "user_id", "left")
        .groupBy("user_id", "cohort")
        .agg(F.max(F.when(F.col("active_day") == F.date_add("cohort", 1), 1).otherwise(0)).alias("returned"))
    )
    per_user = per_user.join(d1.select("user_id", "returned"), "user_id", "left")

    return per_user.groupBy("arm").agg(
        F.count(F.lit(1)).alias("users"),
        F.sum("impressions").alias("impressions"),
        F.sum("clicks").alias("clicks"),
        F.avg("ctr").alias("ctr_mean"),
        F.coalesce(F.var_samp("ctr"), F.lit(0.0)).alias("ctr_var"),
        F.avg("engagement").alias("eng_mean"),
        F.coalesce(F.var_samp("engagement"), F.lit(0.0)).alias("eng_var"),
        F.count("returned").alias("d1_cohort"),
        F.coalesce(F.sum("returned"), F.lit(0)).alias("d1_returned"),
    )


def _bounded(row: Mapping[str, Any]) -> tuple[int, int]:
    """(clicks, impressions) with clicks capped at impressions (a window can cut a slate in two)."""
    impressions = int(row["impressions"])
    return min(int(row["clicks"]), impressions), impressions


def compare_arms(
    rows: Sequence[Mapping[str, Any]], control: str | None = None, split: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """The experiments table's rows from per-arm summaries (driver side, pure Python).

    ``rows`` are :func:`arm_summaries` rows as dicts. Every non-control arm is compared with
    the control: Welch intervals on per-user CTR and engagement, the Beta-Binomial
    probability of beating the control's CTR; the SRM test covers all arms.
    """
    if not rows:
        return []
    by_arm = {str(r["arm"]): r for r in rows}
    arms = sorted(by_arm)
    ctrl = choose_control(arms, control)
    shares = expected_shares(arms, split)
    test = srm({a: int(by_arm[a]["users"]) for a in arms}, shares)
    base = by_arm[ctrl]
    out: list[dict[str, Any]] = []
    for arm in arms:
        r = by_arm[arm]
        row: dict[str, Any] = {
            "arm": arm,
            "control_arm": ctrl,
            "is_control": arm == ctrl,
            "users": int(r["users"]),
            "expected_share": float(shares.get(arm, 0.0)),
            "impressions": int(r["impressions"]),
            "clicks": int(r["clicks"]),
            "ctr": r["clicks"] / r["impressions"] if r["impressions"] else 0.0,
            "ctr_per_user": float(r["ctr_mean"]),
            "engagement_per_user": float(r["eng_mean"]),
            "d1_cohort": int(r["d1_cohort"]),
            "d1_retention": r["d1_returned"] / r["d1_cohort"] if r["d1_cohort"] else None,
            "srm_chi2": test.chi2,
            "srm_p_value": test.p_value,
        }
        for name, mean, var in (("ctr", "ctr_mean", "ctr_var"), ("engagement", "eng_mean", "eng_var")):
            result = None
            if arm != ctrl:
                result = welch(
                    Moments(int(base["users"]), float(base[mean]), float(base[var])),
                    Moments(int(r["users"]), float(r[mean]), float(r[var])),
                )
            row[f"{name}_diff"] = None if arm == ctrl else float(r[mean]) - float(base[mean])
            row[f"{name}_diff_low"] = result.low if result else None
            row[f"{name}_diff_high"] = result.high if result else None
            row[f"{name}_p_value"] = result.p_value if result else None
        row["prob_beats_control"] = None if arm == ctrl else prob_b_beats_a(*_bounded(base), *_bounded(r))
        out.append({c: row[c] for c in EXPERIMENTS.column_names})
    return out


def experiments(
    spark: SparkSession,
    reported: DataFrame,
    events: DataFrame,
    user_day: DataFrame,
    window: Window,
    control: str | None = None,
    split: Mapping[str, float] | None = None,
) -> DataFrame:
    """The experiments table: per-arm aggregates in Spark, the statistics on the driver."""
    summaries = [r.asDict() for r in arm_summaries(reported, events, user_day, window).collect()]
    rows = [tuple(r.values()) for r in compare_arms(summaries, control, split)]
    return spark.createDataFrame(rows, EXPERIMENTS.ddl())
