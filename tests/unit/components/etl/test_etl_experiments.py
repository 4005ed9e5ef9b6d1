"""Assembling the experiments table on the driver, from per-arm summaries, and naming experiments by time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pytest
from scipy import stats

from components.etl.experiments import DEFAULT_EXPERIMENT, ExperimentLabels, choose_control, compare_arms
from components.etl.tables import EXPERIMENTS
from components.registry.experiments import ArmConfig, ExperimentConfig, ExperimentRecord, Timeline

D1, D2 = date(2026, 1, 1), date(2026, 1, 2)


def summary(
    arm: str,
    clicks: list[int],
    impressions: list[int],
    *,
    day: date = D1,
    experiment: str = DEFAULT_EXPERIMENT,
    engagement: list[int] | None = None,
    returned: list[int] | None = None,
) -> dict[str, Any]:
    """The Spark stage's per-arm row, computed from per-user values (``returned``: the D1 cohort's 0/1)."""
    c, n = np.asarray(clicks, dtype=np.int64), np.asarray(impressions, dtype=np.int64)
    e = np.asarray(engagement if engagement is not None else clicks, dtype=np.float64)
    ctr = c / n
    back = list(returned or [])
    return {
        "date": day,
        "experiment": experiment,
        "arm": arm,
        "users": int(c.size),
        "impressions": int(n.sum()),
        "clicks": int(c.sum()),
        "clicks_sq": int((c * c).sum()),
        "impressions_sq": int((n * n).sum()),
        "clicks_impressions": int((c * n).sum()),
        "ctr_mean": float(ctr.mean()),
        "ctr_var": float(ctr.var(ddof=1)) if c.size > 1 else 0.0,
        "eng_mean": float(e.mean()),
        "eng_var": float(e.var(ddof=1)) if e.size > 1 else 0.0,
        "d1_cohort": len(back),
        "d1_returned": sum(back),
    }


def test_choose_control() -> None:
    """Configured, else 'control', else the first arm by name; a missing configured arm is an error."""
    assert choose_control(["b", "a"], None) == "a"
    assert choose_control(["treatment", "control"], None) == "control"
    assert choose_control(["a", "b"], "b") == "b"
    with pytest.raises(ValueError):
        choose_control(["a"], "z")


def test_compare_arms_against_scipy() -> None:
    """One row per arm with the declared columns; the treatment row's intervals equal scipy's on per-user values."""
    rng = np.random.default_rng(1)
    n_a, n_b = rng.integers(5, 50, 40), rng.integers(5, 50, 30)
    c_a, c_b = rng.binomial(n_a, 0.1), rng.binomial(n_b, 0.2)
    e_a, e_b = c_a + rng.integers(0, 3, 40), c_b + rng.integers(0, 3, 30)
    r_a, r_b = [1, 0, 1, 1, 0, 0], [1, 1, 1, 0, 1]
    rows = compare_arms(
        [
            summary("treatment", list(c_b), list(n_b), engagement=list(e_b), returned=r_b),
            summary("control", list(c_a), list(n_a), engagement=list(e_a), returned=r_a),
        ]
    )
    assert [r["arm"] for r in rows] == ["control", "treatment"]
    assert all(list(r) == EXPERIMENTS.column_names for r in rows)
    control, treat = rows
    assert control["is_control"] and control["ctr_diff"] is None and control["prob_beats_control"] is None
    assert control["experiment"] == DEFAULT_EXPERIMENT and control["date"] == D1
    assert control["d1_retention"] == pytest.approx(0.5) and treat["d1_retention"] == pytest.approx(0.8)
    for metric, a, b in (
        ("ctr", c_a / n_a, c_b / n_b),
        ("engagement", e_a, e_b),
        ("d1", np.array(r_a, float), np.array(r_b, float)),
    ):
        ref = stats.ttest_ind(b, a, equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert treat[f"{metric}_diff"] == pytest.approx(b.mean() - a.mean()), metric
        assert (treat[f"{metric}_diff_low"], treat[f"{metric}_diff_high"]) == pytest.approx((ci.low, ci.high))
        assert treat[f"{metric}_p_value"] == pytest.approx(ref.pvalue)
    ctr_ref = stats.ttest_ind(c_b / n_b, c_a / n_a, equal_var=False, alternative="greater")
    assert treat["prob_beats_control"] == pytest.approx(1.0 - ctr_ref.pvalue)
    assert treat["ctr_pooled_diff"] == pytest.approx(c_b.sum() / n_b.sum() - c_a.sum() / n_a.sum())
    assert treat["ctr_pooled_diff_low"] < treat["ctr_pooled_diff"] < treat["ctr_pooled_diff_high"]
    assert control["ctr_se"] > 0 and treat["srm_p_value"] == control["srm_p_value"]


def test_rows_are_compared_within_their_day_and_experiment() -> None:
    """Each (date, experiment) has its own control, SRM test and shares; nothing is compared across them."""
    rows = compare_arms(
        [
            summary("control", [1, 2, 3], [10, 10, 10], day=D1, experiment="day-1"),
            summary("control", [1, 2, 3], [10, 10, 10], day=D2, experiment="day-2"),
            summary("treatment", [4, 5, 6], [10, 10, 10], day=D2, experiment="day-2"),
            summary("treatment", [1, 2], [10, 10], day=D2, experiment="day-1"),
        ],
        experiment_shares={"day-1": {"control": 1.0}, "day-2": {"control": 0.5, "treatment": 0.5}},
    )
    keys = [(r["date"], r["experiment"], r["arm"]) for r in rows]
    assert keys == [
        (D1, "day-1", "control"),
        (D2, "day-1", "treatment"),
        (D2, "day-2", "control"),
        (D2, "day-2", "treatment"),
    ]
    lone, day2 = rows[0], rows[3]
    assert lone["srm_p_value"] == 1.0 and lone["expected_share"] == 1.0
    assert day2["ctr_diff"] == pytest.approx(0.3) and day2["expected_share"] == 0.5
    # day 2 of experiment day-1: an arm the experiment does not have, and no control: a mismatch, no comparison
    stray = rows[1]
    assert stray["expected_share"] == 0.0 and stray["srm_p_value"] == 0.0 and stray["ctr_diff"] is None


def test_the_configured_split_and_control() -> None:
    """Without the log's shares the configured split is used; a control absent from a group compares nothing."""
    rows = compare_arms(
        [summary("a", [1, 2], [10, 10]), summary("b", [1, 2, 3], [10, 10, 10])], control="b", split={"a": 1, "b": 3}
    )
    assert [r["expected_share"] for r in rows] == [0.25, 0.75]
    assert rows[0]["ctr_diff"] is not None and rows[1]["is_control"]
    alone = compare_arms([summary("a", [1, 2], [10, 10])], control="b", split={"a": 1, "b": 1})
    assert alone[0]["control_arm"] == "b" and not alone[0]["is_control"] and alone[0]["ctr_diff"] is None


def test_model_version_is_the_one_that_served_most_impressions() -> None:
    """The main version, how many served and its share; null versions count in the share only."""
    versions = [
        {"date": D1, "experiment": DEFAULT_EXPERIMENT, "arm": "control", "model_version": "m:v1", "impressions": 90},
        {
            "date": D1,
            "experiment": DEFAULT_EXPERIMENT,
            "arm": "control",
            "model_version": "popularity",
            "impressions": 8,
        },
        {"date": D1, "experiment": DEFAULT_EXPERIMENT, "arm": "control", "model_version": None, "impressions": 2},
        {"date": D1, "experiment": DEFAULT_EXPERIMENT, "arm": "treatment", "model_version": None, "impressions": 5},
    ]
    rows = compare_arms([summary("control", [1, 2], [10, 10]), summary("treatment", [1], [10])], versions=versions)
    control, treat = rows
    assert (control["model_version"], control["model_versions"], control["model_version_share"]) == ("m:v1", 2, 0.9)
    assert (treat["model_version"], treat["model_versions"], treat["model_version_share"]) == (None, 0, None)
    assert treat["ctr_diff"] == pytest.approx(0.1 - 0.15) and treat["ctr_diff_low"] is None  # one user: no interval


def test_no_arms_no_rows() -> None:
    """Events without arms give an empty table."""
    assert compare_arms([]) == []


def _record(name: str, at: datetime, *arms: tuple[str, float]) -> ExperimentRecord:
    config = ExperimentConfig(name=name, arms=tuple(ArmConfig(name=a, weight=w) for a, w in arms))
    return ExperimentRecord(at=at, experiment=config)


def test_labels_name_each_time_by_the_record_in_force() -> None:
    """Before the first record: default; then each record until the next; records outside the window are dropped."""
    t0 = datetime(2026, 1, 1, 6, tzinfo=UTC)
    timeline = Timeline(
        [
            _record("old", t0 - timedelta(days=5), ("control", 1)),
            _record("day-1", t0, ("control", 1)),
            _record("day-2", t0 + timedelta(days=1), ("control", 1), ("treatment", 3)),
            _record("later", t0 + timedelta(days=9), ("control", 1)),
        ]
    )
    labels = ExperimentLabels.of(timeline, D1, D2)
    assert [name for name, _, _ in labels.spans] == ["old", "day-1", "day-2"]
    assert labels.shares["day-2"] == {"control": 0.25, "treatment": 0.75}
    con = duckdb.connect()
    sql = labels.sql("x")

    def name_at(when: datetime) -> str:
        micros = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        row = con.execute(f"SELECT {sql} FROM (SELECT {micros}::BIGINT AS x)").fetchone()
        assert row is not None
        return str(row[0])

    assert name_at(t0 - timedelta(microseconds=1)) == "old"
    assert name_at(t0) == "day-1"
    assert name_at(t0 + timedelta(days=1, microseconds=-1)) == "day-1"
    assert name_at(t0 + timedelta(days=2)) == "day-2"
    only = ExperimentLabels.of(Timeline([_record("x", t0, ("control", 1))]), D1, D1)
    assert "ELSE 'default'" in only.sql("x") and name_at_default(only) == DEFAULT_EXPERIMENT
    assert ExperimentLabels.of(None, D1, D2).sql("x") == "'default'"


def name_at_default(labels: ExperimentLabels) -> str:
    """The name the labels give the epoch (before any record)."""
    row = duckdb.connect().execute(f"SELECT {labels.sql('x')} FROM (SELECT 0::BIGINT AS x)").fetchone()
    assert row is not None
    return str(row[0])
