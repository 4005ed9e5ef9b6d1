"""Tests for :func:`simnet.score.day_score`: bounds, monotonicity, weights and refusals."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simnet.score import WEIGHTS, day_score
from tests.strategies import fractions

values = st.floats(min_value=-10.0, max_value=1e6)


def test_weights_sum_to_one() -> None:
    """The four weights are positive and sum to 1, so a perfect day scores (nearly) 100."""
    assert all(w > 0 for w in WEIGHTS.values())
    assert math.isclose(sum(WEIGHTS.values()), 1.0)


def test_hand_computed_scores() -> None:
    """All parts at zero give 0; every part at 0.5 (value 1 squashes to 0.5) gives 50."""
    assert day_score(0.0, 0.0, 0.0, 0.0) == 0.0
    assert day_score(0.5, 1.0, 0.5, 0.5) == pytest.approx(50.0)
    assert day_score(1.0, 0.0, 0.0, 0.0) == pytest.approx(100 * WEIGHTS["reach"])
    assert day_score(0.0, 0.0, 0.0, 1.0) == pytest.approx(100 * WEIGHTS["creator_health"])


@given(fractions(), values, fractions(), fractions())
def test_score_lies_in_0_100(reach: float, value: float, satisfaction: float, health: float) -> None:
    """For parts in [0, 1] and any finite value per user, the score lies in [0, 100]."""
    assert 0.0 <= day_score(reach, value, satisfaction, health) <= 100.0


@given(fractions(), values, fractions(), fractions(), st.integers(0, 3), st.floats(0.0, 1.0))
def test_score_is_monotone_in_each_part(
    reach: float, value: float, satisfaction: float, health: float, which: int, step: float
) -> None:
    """Raising any one part (value included) never lowers the score; raising it by a lot raises it."""
    parts = [reach, value, satisfaction, health]
    higher = list(parts)
    higher[which] = min(parts[which] + step, 1.0) if which != 1 else parts[which] + step
    before, after = day_score(*parts), day_score(*higher)
    assert after >= before - 1e-9
    lowest = list(parts)
    lowest[which] = 0.0
    top = list(parts)
    top[which] = 1.0
    if which == 1:
        top[1] = max(value, 0.0) + 1.0
    assert day_score(*top) > day_score(*lowest)


@given(st.floats(-1e6, 0.0))
def test_negative_value_counts_as_zero(value: float) -> None:
    """Clickbait can make value per user negative; the value part then counts as zero, not below."""
    assert day_score(0.4, value, 0.4, 0.4) == pytest.approx(day_score(0.4, 0.0, 0.4, 0.4))


@pytest.mark.parametrize("position", [0, 2, 3], ids=["reach", "satisfaction", "creator_health"])
@pytest.mark.parametrize("bad", [-0.01, 1.01, 5.0, float("nan"), float("inf")])
def test_parts_outside_the_unit_interval_are_rejected(position: int, bad: float) -> None:
    """A reach, satisfaction or creator health outside [0, 1] (or NaN) raises ValueError naming it."""
    parts = [0.5, 1.0, 0.5, 0.5]
    parts[position] = bad
    name = ["reach", "value", "satisfaction", "creator_health"][position]
    with pytest.raises(ValueError, match=f"{name} must lie in"):
        day_score(*parts)


def test_nan_value_is_rejected() -> None:
    """A NaN value per active user raises instead of producing a NaN score."""
    with pytest.raises(ValueError, match="value must lie in"):
        day_score(0.5, float("nan"), 0.5, 0.5)
