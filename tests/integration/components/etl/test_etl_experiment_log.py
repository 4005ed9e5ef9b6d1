"""The experiments table with an experiment log: experiment and date per arm, model versions, per-user statistics.

A generated lake of 300 users over two days. The log says experiment ``day-1`` (one arm,
``control``, serving popularity) went live at A 00:00 and ``day-2`` (``control`` = champion
``rec:v1`` against ``treatment`` = challenger ``rec:v2``, 1:3) at B 06:00, so B's events before
06:00 still belong to ``day-1``. Users' CTRs differ (Beta(1, 12)); each user sees several slates
of five a day; treatment slates fall back to popularity now and then. Every figure is recomputed
here with pandas and scipy from the events themselves, and the DuckDB peer must agree with Spark.
"""

from __future__ import annotations

import importlib.util
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from components.etl.job import EtlOptions, run_etl
from components.etl.stats import RatioSums, ratio_delta
from components.registry.experiments import ArmConfig, ExperimentConfig, ExperimentLog, Timeline
from simnet.lake import write_partitioned
from simnet.protocol import EVENT_SCHEMA
from tests.integration.components.etl.handbuilt import row

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

A, B = date(2026, 4, 1), date(2026, 4, 2)
SWITCH = datetime(2026, 4, 2, 6, tzinfo=UTC)
USERS = 300
BENCHMARK = Path(__file__).resolve().parents[4] / "benchmarks" / "etl.py"


def _log(root: Path) -> Timeline:
    log = ExperimentLog(str(root), "rec")
    log.record(ExperimentConfig(name="day-1", arms=(ArmConfig(name="control", model="popularity"),)), at=_at(A, 0))
    arms = (ArmConfig(name="control", weight=1.0), ArmConfig(name="treatment", weight=3.0, model="challenger"))
    log.record(ExperimentConfig(name="day-2", arms=arms), at=SWITCH)
    return log.timeline()


def _at(day: date, hour: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def _events(seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    ctr = rng.beta(1.0, 12.0, USERS)
    in_treatment = rng.random(USERS) < 0.75
    for user in range(USERS):
        if user % 4 == 0:  # a quarter sign up on A: A's D1 cohort
            rows.append({"ts": _at(A, 0.01), "user_id": user, "type": "signup"})
        for day in (A, B):
            if day == B and user % 4 == 0 and user % 8 == 0:
                continue  # half of the cohort does not come back
            for _ in range(int(rng.integers(1, 5))):
                ts = _at(day, float(rng.uniform(0.05, 23.9)))
                if ts < SWITCH:
                    arm, version = "control", "popularity"
                else:
                    arm = "treatment" if in_treatment[user] else "control"
                    version = "rec:v2" if arm == "treatment" else "rec:v1"
                    if arm == "treatment" and rng.random() < 0.05:
                        version = "popularity"  # a fallback slate
                request = f"r{len(rows)}"
                lift = 1.3 if arm == "treatment" else 1.0
                for position in range(5):
                    item = int(rng.integers(0, 50))
                    slate = {"user_id": user, "item_id": item, "request_id": request, "arm": arm}
                    at = ts + timedelta(milliseconds=position)
                    rows.append(
                        {**slate, "ts": at, "type": "impression", "position": position, "model_version": version}
                    )
                    if rng.random() < min(ctr[user] * lift, 1.0):
                        rows.append({**slate, "ts": at + timedelta(seconds=2), "type": "click", "position": position})
                        if rng.random() < 0.3:
                            rows.append({**slate, "ts": at + timedelta(seconds=3), "type": "like"})
    for i, r in enumerate(rows):
        r["event_id"] = f"e{i}"
    return pa.Table.from_pylist(sorted(rows, key=lambda r: r["ts"]), schema=EVENT_SCHEMA)


@pytest.fixture(scope="module")
def logged(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, Timeline, Path, Path]:
    """The events, the log's timeline, the lake and the Spark output (experiments table only)."""
    root = tmp_path_factory.mktemp("logged")
    events = _events()
    write_partitioned(events, str(root / "events"), "gen")
    timeline = _log(root / "registry")
    out = root / "spark"
    options = EtlOptions(tables=("experiments",))
    run_etl(spark, str(root / "events"), A, B, str(out), options, timeline=timeline)
    return events, timeline, root / "events", out


def _per_user(events: pa.Table, timeline: Timeline) -> pd.DataFrame:
    """Per (date, experiment, arm, user): impressions, clicks, engagement, computed with pandas."""
    frame = events.to_pandas()
    frame = frame[frame["arm"].notna() & frame["type"].isin(["impression", "click", "like", "share"])].copy()
    starts = [r.at for r in timeline.records]
    names = [r.experiment.name for r in timeline.records]
    frame["experiment"] = [names[bisect_right(starts, t) - 1] for t in frame["ts"]]
    frame["date"] = frame["ts"].dt.date
    frame["impression"] = frame["type"] == "impression"
    frame["click"] = frame["type"] == "click"
    frame["engaged"] = frame["type"] != "impression"
    keys = ["date", "experiment", "arm", "user_id"]
    per_user = frame.groupby(keys)[["impression", "click", "engaged"]].sum().reset_index()
    return per_user[per_user["impression"] > 0]


def test_rows_name_date_experiment_and_version(logged: tuple[pa.Table, Timeline, Path, Path]) -> None:
    """Day A: day-1's control; day B: day-1's control before 06:00, day-2's two arms after; versions by impressions."""
    events, _, _, out = logged
    table = pd.read_parquet(out / "experiments")
    keys = sorted(zip(table["date"], table["experiment"], table["arm"], strict=True))
    assert keys == [
        (A, "day-1", "control"),
        (B, "day-1", "control"),
        (B, "day-2", "control"),
        (B, "day-2", "treatment"),
    ]
    treat = row(table, date=B, experiment="day-2", arm="treatment")
    frame = events.to_pandas()
    served = frame[(frame["type"] == "impression") & (frame["arm"] == "treatment")]["model_version"].value_counts()
    assert treat.model_version == "rec:v2" and treat.model_versions == 2
    assert treat.model_version_share == pytest.approx(served["rec:v2"] / served.sum())
    assert row(table, date=B, experiment="day-2", arm="control").model_version == "rec:v1"
    assert row(table, date=A, experiment="day-1", arm="control").model_version == "popularity"


def test_statistics_against_scipy(logged: tuple[pa.Table, Timeline, Path, Path]) -> None:
    """Per-user Welch intervals, the t posterior, the delta-method pooled CTR and SRM against the log's 1:3 shares."""
    events, timeline, _, out = logged
    table = pd.read_parquet(out / "experiments")
    per_user = _per_user(events, timeline)
    group = per_user[(per_user["date"] == B) & (per_user["experiment"] == "day-2")]
    c, t = group[group["arm"] == "control"], group[group["arm"] == "treatment"]
    got_c = row(table, date=B, experiment="day-2", arm="control")
    got = row(table, date=B, experiment="day-2", arm="treatment")
    assert (got_c.users, got.users) == (len(c), len(t))
    assert (got.impressions, got.clicks) == (t["impression"].sum(), t["click"].sum())
    for metric, a, b in (
        ("ctr", c["click"] / c["impression"], t["click"] / t["impression"]),
        ("engagement", c["engaged"], t["engaged"]),
    ):
        ref = stats.ttest_ind(b, a, equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert got[f"{metric}_diff"] == pytest.approx(b.mean() - a.mean())
        assert (got[f"{metric}_diff_low"], got[f"{metric}_diff_high"]) == pytest.approx((ci.low, ci.high))
        assert got[f"{metric}_p_value"] == pytest.approx(ref.pvalue)
    greater = stats.ttest_ind(
        t["click"] / t["impression"], c["click"] / c["impression"], equal_var=False, alternative="greater"
    )
    assert got.prob_beats_control == pytest.approx(1.0 - greater.pvalue)
    for arm_rows, result in ((c, got_c), (t, got)):
        x, y = arm_rows["click"].to_numpy(float), arm_rows["impression"].to_numpy(float)
        estimate = ratio_delta(RatioSums(len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()))
        assert estimate is not None and result.ctr == pytest.approx(estimate.ratio)
        assert result.ctr_se == pytest.approx(estimate.se)
    se = np.hypot(got_c.ctr_se, got.ctr_se)
    assert got.ctr_pooled_diff_high - got.ctr_pooled_diff == pytest.approx(stats.norm.ppf(0.975) * se)
    srm = stats.chisquare([len(c), len(t)], np.array([0.25, 0.75]) * (len(c) + len(t)))
    assert (got_c.expected_share, got.expected_share) == (0.25, 0.75)
    assert got.srm_p_value == pytest.approx(srm.pvalue) and got_c.srm_p_value == pytest.approx(srm.pvalue)


def test_d1_of_the_day_cohort(logged: tuple[pa.Table, Timeline, Path, Path]) -> None:
    """A's cohort (users signed up on A) returns on B when active on B; B's rows have no cohort (B + 1 is unseen)."""
    _, _, _, out = logged
    table = pd.read_parquet(out / "experiments")
    a_row = row(table, date=A, experiment="day-1", arm="control")
    cohort = [u for u in range(USERS) if u % 4 == 0]
    back = [u for u in cohort if u % 8 != 0]
    assert a_row.d1_cohort == len(cohort) and a_row.d1_retention == pytest.approx(len(back) / len(cohort))
    b_rows = table[table["date"] == B]
    assert (b_rows["d1_cohort"] == 0).all() and b_rows["d1_retention"].isna().all()


def test_duckdb_peer_names_the_same_experiments(logged: tuple[pa.Table, Timeline, Path, Path], tmp_path: Path) -> None:
    """The benchmark's DuckDB peer, given the same log, writes the same experiments table as Spark."""
    _, timeline, lake, out = logged
    spec = importlib.util.spec_from_file_location("benchmark_etl", BENCHMARK)
    assert spec and spec.loader
    bench: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.run_duckdb(str(lake), A, B, tmp_path, 1.0, timeline=timeline)
    assert bench.compare_outputs(out, tmp_path, tables=("experiments",)) == []
