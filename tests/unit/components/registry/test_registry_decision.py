"""The online decision on hand-built experiments tables: win, loss, guard-rails, no data, SRM, versions, selection.

Rows are built the way the ETL builds them (:func:`components.etl.experiments.compare_arms`
from per-arm summaries), so the decision reads exactly the columns the ETL writes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from components.etl.experiments import compare_arms
from components.etl.tables import EXPERIMENTS
from components.registry.decision import (
    CHALLENGER_ARM,
    CHAMPION_ARM,
    COMPARED,
    PER_USER,
    DecisionConfig,
    decide,
    model_version_label,
    select_rows,
)

DAY = date(2026, 1, 8)
EXPERIMENT = "nightly-2026-01-08"
IMPRESSIONS_PER_USER = 20


def arm_summary(
    arm: str,
    users: int,
    ctr: float,
    var: float = 0.002,
    *,
    engagement: float | None = None,
    day: date = DAY,
    experiment: str = EXPERIMENT,
    d1: tuple[int, int] = (0, 0),
) -> dict[str, Any]:
    """Per-arm sufficient statistics as the ETL's Spark stage reduces them (20 impressions per user).

    ``d1``: (cohort users, returned).
    """
    n = IMPRESSIONS_PER_USER
    clicks = round(users * n * ctr)
    clicks_var = var * n * n  # per-user clicks = n * per-user ctr
    return {
        "date": day,
        "experiment": experiment,
        "arm": arm,
        "users": users,
        "impressions": users * n,
        "clicks": clicks,
        "clicks_sq": round((users - 1) * clicks_var + clicks * clicks / users),
        "impressions_sq": users * n * n,
        "clicks_impressions": clicks * n,
        "ctr_mean": ctr,
        "ctr_var": var,
        "eng_mean": ctr * 30 if engagement is None else engagement,
        "eng_var": 1.0,
        "d1_cohort": d1[0],
        "d1_returned": d1[1],
    }


def served(arm: str, version: str, share: float = 1.0, day: date = DAY, experiment: str = EXPERIMENT) -> list[Any]:
    """Version rows saying ``arm`` served ``version`` for ``share`` of 1000 impressions, popularity the rest."""
    rows = [{"date": day, "experiment": experiment, "arm": arm, "model_version": version, "impressions": 1000 * share}]
    if share < 1.0:
        rows.append(
            {
                "date": day,
                "experiment": experiment,
                "arm": arm,
                "model_version": "popularity",
                "impressions": 1000 * (1 - share),
            }
        )
    return rows


def _rows(
    challenger_ctr: float,
    users: tuple[int, int] = (1000, 1000),
    control: str | None = None,
    *,
    engagement: tuple[float, float] | None = None,
    versions: list[Any] | None = None,
    d1: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
) -> list[dict[str, Any]]:
    """The experiments table of champion (CTR 0.05) against challenger, compared with ``control``."""
    eng = engagement or (None, None)
    summaries = [
        arm_summary(CHAMPION_ARM, users[0], 0.05, engagement=eng[0], d1=d1[0]),
        arm_summary(CHALLENGER_ARM, users[1], challenger_ctr, engagement=eng[1], d1=d1[1]),
    ]
    return compare_arms(summaries, control=control, versions=versions or ())


def test_compared_metrics_are_columns_of_the_table() -> None:
    """Every primary and guard-rail metric has its Welch interval among the ETL's columns."""
    assert set(PER_USER) <= set(COMPARED)
    for column in PER_USER.values():
        assert column in EXPERIMENTS.column_names
    for metric in COMPARED:
        for name in (f"{metric}_diff", f"{metric}_diff_low", f"{metric}_diff_high", f"{metric}_p_value"):
            assert name in EXPERIMENTS.column_names


def test_a_clear_win_promotes_with_the_figures_in_the_reason() -> None:
    """CTR 0.07 vs 0.05 over 1000 users each: the interval lies above zero, so promote; the reason quotes it."""
    decision = decide(_rows(0.07))
    assert decision.action == "promote"
    assert decision.low is not None and decision.low > 0 and decision.diff == pytest.approx(0.02)
    assert "ctr 0.0700 vs control (champion) 0.0500" in decision.reason and "95% CI" in decision.reason
    assert "users 1000 vs 1000" in decision.reason and "SRM p=" in decision.reason
    assert f"experiment {EXPERIMENT} on {DAY}" in decision.reason
    assert (decision.date, decision.experiment) == (DAY, EXPERIMENT)
    assert [rail.metric for rail in decision.guard_rails] == ["engagement", "d1"]
    assert decision.guard_rails[1].diff is None and "d1 undefined" in decision.reason  # no cohort that day


def test_a_clear_loss_retires_even_before_the_window_ends() -> None:
    """CTR 0.03 vs 0.05: the interval lies below zero, so retire, complete window or not."""
    for complete in (True, False):
        decision = decide(_rows(0.03), window_complete=complete)
        assert decision.action == "retire" and "significantly worse" in decision.reason
        assert decision.high is not None and decision.high < 0


def test_a_guard_rail_significantly_worse_blocks_the_promotion() -> None:
    """A CTR win with engagement per user clearly down (1.5 -> 1.3, se ~0.045) is retired, not promoted."""
    decision = decide(_rows(0.07, engagement=(1.5, 1.3)), window_complete=False)
    assert decision.action == "retire" and "guard-rail is significantly worse (engagement)" in decision.reason
    rail = decision.guard_rails[0]
    assert rail.metric == "engagement" and rail.worse and rail.high is not None and rail.high < 0
    assert "engagement -0.2000" in decision.reason and "WORSE" in decision.reason


def test_d1_retention_is_a_guard_rail_where_defined() -> None:
    """D1 of the day's cohort: 300/500 returned vs 200/500 is significantly worse and blocks; equal D1 does not."""
    worse = decide(_rows(0.07, d1=((500, 300), (500, 200))))
    assert worse.action == "retire" and "(d1)" in worse.reason
    same = decide(_rows(0.07, d1=((500, 250), (500, 250))))
    assert same.action == "promote" and same.guard_rails[1].diff == pytest.approx(0.0)


def test_inconclusive_keeps_until_the_window_is_complete() -> None:
    """A difference inside the noise keeps the challenger mid-window and retires it once the window is complete."""
    assert decide(_rows(0.0502), window_complete=False).action == "keep"
    final = decide(_rows(0.0502), window_complete=True)
    assert final.action == "retire" and "did not win" in final.reason


def test_no_data_for_an_arm_keeps() -> None:
    """No row (or no users) for the challenger's or the champion's arm: keep, saying which arm lacked data."""
    only_champion = compare_arms([arm_summary(CHAMPION_ARM, 1000, 0.05)])
    decision = decide(only_champion)
    assert decision.action == "keep" and "no data for the challenger's arm 'treatment'" in decision.reason
    assert decide([]).action == "keep"
    only_challenger = compare_arms([arm_summary(CHALLENGER_ARM, 1000, 0.05)])
    assert "no data for the champion's arm 'control'" in decide(only_challenger).reason


def test_too_few_users_keeps() -> None:
    """Below min_users per arm the figures do not count, even for a large apparent win."""
    decision = decide(_rows(0.09, users=(50, 50)), config=DecisionConfig(min_users=100))
    assert decision.action == "keep" and "not enough data" in decision.reason


def test_sample_ratio_mismatch_blocks_promotion() -> None:
    """A winning challenger on a 1000/800 split of an intended 50/50 (SRM p << 0.001) is kept, not promoted."""
    decision = decide(_rows(0.07, users=(1000, 800)))
    assert decision.srm_p_value is not None and decision.srm_p_value < 0.001
    assert decision.action == "keep" and "sample-ratio mismatch" in decision.reason
    assert decide(_rows(0.07, users=(1000, 800)), config=DecisionConfig(srm_alpha=1e-9)).action == "promote"


def test_an_arm_that_served_another_version_is_not_judged() -> None:
    """The arms' model versions must be the ones judged, and must have served (almost) all their impressions."""
    v1, v2 = model_version_label("recommender", 1), model_version_label("recommender", 2)
    assert v2 == "recommender:v2"
    versions = served(CHAMPION_ARM, v1) + served(CHALLENGER_ARM, v2)
    ok = decide(_rows(0.07, versions=versions), champion_version=v1, challenger_version=v2)
    assert ok.action == "promote" and ok.challenger is not None and ok.challenger.model_version == v2
    assert f"versions {v2} vs {v1}" in ok.reason
    moved = decide(_rows(0.07, versions=versions), champion_version=v1, challenger_version="recommender:v3")
    assert moved.action == "keep" and "served recommender:v2, not recommender:v3" in moved.reason
    fallback = served(CHAMPION_ARM, v1) + served(CHALLENGER_ARM, v2, share=0.6)
    mixed = decide(_rows(0.07, versions=fallback), champion_version=v1, challenger_version=v2)
    assert mixed.action == "keep" and "for only 60% of its impressions" in mixed.reason
    unknown = decide(_rows(0.07), champion_version=v1, challenger_version=v2)  # events without versions
    assert unknown.action == "promote"


def test_the_challenger_as_control_arm_is_read_negated() -> None:
    """When the table's control is the challenger's arm, the champion's row is negated: same verdict, same interval."""
    as_treatment, as_control = decide(_rows(0.07)), decide(_rows(0.07, control=CHALLENGER_ARM))
    assert as_control.action == as_treatment.action == "promote"
    assert as_control.diff == pytest.approx(as_treatment.diff)
    assert as_control.low == pytest.approx(as_treatment.low) and as_control.high == pytest.approx(as_treatment.high)
    assert as_control.guard_rails[0].diff == pytest.approx(as_treatment.guard_rails[0].diff)


def test_min_effect_and_engagement() -> None:
    """min_effect raises the bar on the lower bound; the engagement metric reads its own columns."""
    assert decide(_rows(0.07), config=DecisionConfig(min_effect=0.05)).action == "retire"
    engagement = decide(_rows(0.07), metric="engagement")
    assert engagement.metric == "engagement" and engagement.diff == pytest.approx(0.6)
    assert [rail.metric for rail in engagement.guard_rails] == ["ctr", "d1"]


def test_select_rows_picks_one_day_and_experiment() -> None:
    """The latest day by default, and that day's experiment with both arms and the most users in them."""
    before, after = date(2026, 1, 7), DAY
    rows = compare_arms(
        [
            arm_summary(CHAMPION_ARM, 900, 0.05, day=before, experiment="old"),
            arm_summary(CHALLENGER_ARM, 900, 0.06, day=before, experiment="old"),
            arm_summary(CHAMPION_ARM, 30, 0.05, day=after, experiment="old"),  # the night's tail of yesterday's
            arm_summary(CHALLENGER_ARM, 30, 0.06, day=after, experiment="old"),
            arm_summary(CHAMPION_ARM, 1000, 0.05, day=after, experiment="new"),
            arm_summary(CHALLENGER_ARM, 1000, 0.07, day=after, experiment="new"),
            arm_summary("solo", 5000, 0.05, day=after, experiment="bigger-but-one-arm"),
        ]
    )
    day, experiment, chosen = select_rows(rows)
    assert (day, experiment, len(chosen)) == (after, "new", 2)
    day, experiment, chosen = select_rows(rows, date=before)
    assert (day, experiment, {r["users"] for r in chosen}) == (before, "old", {900})
    assert select_rows(rows, date=after, experiment="old")[2][0]["users"] == 30
    assert select_rows(rows, date=date(2026, 2, 1)) == (date(2026, 2, 1), None, [])
    assert select_rows([]) == (None, None, [])
    with pytest.raises(ValueError, match="select one"):
        decide(rows)
    assert decide(select_rows(rows)[2]).action == "promote"


def test_bad_arms_are_errors() -> None:
    """The same arm twice, or a table whose control is neither arm, cannot be judged: ValueError."""
    with pytest.raises(ValueError, match="different arms"):
        decide(_rows(0.07), champion_arm="a", challenger_arm="a")
    three = compare_arms(
        [
            arm_summary("base", 1000, 0.05),
            arm_summary(CHAMPION_ARM, 1000, 0.05),
            arm_summary(CHALLENGER_ARM, 1000, 0.07),
        ],
        control="base",
    )
    with pytest.raises(ValueError, match="neither the champion's arm"):
        decide(three)
