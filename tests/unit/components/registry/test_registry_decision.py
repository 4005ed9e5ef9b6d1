"""The online decision on hand-built experiments tables: win, loss, no data, SRM, and the arms' roles.

Rows are built the way the ETL builds them (:func:`components.etl.experiments.compare_arms`
from per-arm summaries), so the decision reads exactly the columns the ETL writes.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.etl.experiments import compare_arms
from components.etl.tables import EXPERIMENTS
from components.registry.decision import (
    CHALLENGER_ARM,
    CHAMPION_ARM,
    PER_USER,
    DecisionConfig,
    decide,
)


def _summary(arm: str, users: int, ctr: float, var: float = 0.002) -> dict[str, Any]:
    """Per-arm sufficient statistics as the ETL's Spark stage reduces them."""
    impressions = users * 20
    return {
        "arm": arm,
        "users": users,
        "impressions": impressions,
        "clicks": round(impressions * ctr),
        "ctr_mean": ctr,
        "ctr_var": var,
        "eng_mean": ctr * 30,
        "eng_var": 1.0,
        "d1_cohort": 0,
        "d1_returned": 0,
    }


def _rows(
    challenger_ctr: float, users: tuple[int, int] = (1000, 1000), control: str | None = None
) -> list[dict[str, Any]]:
    """The experiments table of champion (CTR 0.05) against challenger, compared with ``control``."""
    summaries = [_summary(CHAMPION_ARM, users[0], 0.05), _summary(CHALLENGER_ARM, users[1], challenger_ctr)]
    return compare_arms(summaries, control=control)


def test_primary_metrics_are_columns_of_the_table() -> None:
    """Every primary metric has its per-user mean and Welch interval among the ETL's columns."""
    for metric, column in PER_USER.items():
        for name in (column, f"{metric}_diff", f"{metric}_diff_low", f"{metric}_diff_high", f"{metric}_p_value"):
            assert name in EXPERIMENTS.column_names


def test_a_clear_win_promotes_with_the_figures_in_the_reason() -> None:
    """CTR 0.07 vs 0.05 over 1000 users each: the interval lies above zero, so promote; the reason quotes it."""
    decision = decide(_rows(0.07))
    assert decision.action == "promote"
    assert decision.low is not None and decision.low > 0 and decision.diff == pytest.approx(0.02)
    assert "ctr 0.0700 vs control (champion) 0.0500" in decision.reason and "95% CI" in decision.reason
    assert "users 1000 vs 1000" in decision.reason and "SRM p=" in decision.reason


def test_a_clear_loss_retires_even_before_the_window_ends() -> None:
    """CTR 0.03 vs 0.05: the interval lies below zero, so retire, complete window or not."""
    for complete in (True, False):
        decision = decide(_rows(0.03), window_complete=complete)
        assert decision.action == "retire" and "significantly worse" in decision.reason
        assert decision.high is not None and decision.high < 0


def test_inconclusive_keeps_until_the_window_is_complete() -> None:
    """A difference inside the noise keeps the challenger mid-window and retires it once the window is complete."""
    assert decide(_rows(0.0502), window_complete=False).action == "keep"
    final = decide(_rows(0.0502), window_complete=True)
    assert final.action == "retire" and "did not win" in final.reason


def test_no_data_for_an_arm_keeps() -> None:
    """No row (or no users) for the challenger's or the champion's arm: keep, saying which arm lacked data."""
    only_champion = compare_arms([_summary(CHAMPION_ARM, 1000, 0.05)])
    decision = decide(only_champion)
    assert decision.action == "keep" and "no data for the challenger's arm 'treatment'" in decision.reason
    assert decide([]).action == "keep"
    only_challenger = compare_arms([_summary(CHALLENGER_ARM, 1000, 0.05)])
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


def test_the_challenger_as_control_arm_is_read_negated() -> None:
    """When the table's control is the challenger's arm, the champion's row is negated: same verdict, same interval."""
    as_treatment, as_control = decide(_rows(0.07)), decide(_rows(0.07, control=CHALLENGER_ARM))
    assert as_control.action == as_treatment.action == "promote"
    assert as_control.diff == pytest.approx(as_treatment.diff)
    assert as_control.low == pytest.approx(as_treatment.low) and as_control.high == pytest.approx(as_treatment.high)


def test_min_effect_and_engagement() -> None:
    """min_effect raises the bar on the lower bound; the engagement metric reads its own columns."""
    assert decide(_rows(0.07), config=DecisionConfig(min_effect=0.05)).action == "retire"
    engagement = decide(_rows(0.07), metric="engagement")
    assert engagement.metric == "engagement" and engagement.diff == pytest.approx(0.6)


def test_bad_arms_are_errors() -> None:
    """The same arm twice, or a table whose control is neither arm, cannot be judged: ValueError."""
    with pytest.raises(ValueError, match="different arms"):
        decide(_rows(0.07), champion_arm="a", challenger_arm="a")
    three = compare_arms(
        [_summary("base", 1000, 0.05), _summary(CHAMPION_ARM, 1000, 0.05), _summary(CHALLENGER_ARM, 1000, 0.07)],
        control="base",
    )
    with pytest.raises(ValueError, match="neither the champion's arm"):
        decide(three)
