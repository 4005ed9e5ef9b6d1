"""A/B statistics against scipy and independent computations, plus their properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from components.etl.stats import Moments, expected_shares, prob_b_beats_a, srm, welch


def _moments(values: list[float]) -> Moments:
    arr = np.asarray(values, dtype=np.float64)
    return Moments(n=arr.size, mean=float(arr.mean()), var=float(arr.var(ddof=1)) if arr.size > 1 else 0.0)


def test_welch_matches_scipy() -> None:
    """Interval, p-value and sign convention (b - a) agree with scipy's Welch test."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.0, 1.0, 40), rng.normal(0.4, 2.0, 25)
    got = welch(_moments(list(a)), _moments(list(b)))
    ref = stats.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert got is not None
    assert got.diff == pytest.approx(b.mean() - a.mean())
    assert got.low == pytest.approx(ci.low) and got.high == pytest.approx(ci.high)
    assert got.p_value == pytest.approx(ref.pvalue)
    assert got.df == pytest.approx(ref.df)


def test_welch_is_undefined_for_tiny_or_constant_groups() -> None:
    """Fewer than two observations or zero variance on both sides gives None."""
    assert welch(Moments(1, 0.5, 0.0), Moments(10, 0.4, 0.1)) is None
    assert welch(Moments(5, 1.0, 0.0), Moments(5, 1.0, 0.0)) is None


@given(
    st.lists(st.floats(0, 10), min_size=2, max_size=30),
    st.lists(st.floats(0, 10), min_size=2, max_size=30),
)
def test_welch_interval_brackets_the_difference(a: list[float], b: list[float]) -> None:
    """The interval, when defined, contains the observed difference and its p-value is in [0, 1]."""
    result = welch(_moments(a), _moments(b))
    if result is None:
        return
    assert result.low <= result.diff <= result.high
    assert 0.0 <= result.p_value <= 1.0


def _by_integration(ca: int, na: int, cb: int, nb: int) -> float:
    def integrand(x: float) -> float:
        return float(stats.beta.pdf(x, 1 + cb, 1 + nb - cb) * stats.beta.cdf(x, 1 + ca, 1 + na - ca))

    value, _ = integrate.quad(integrand, 0, 1, limit=200)
    return float(value)


@pytest.mark.parametrize(("ca", "na", "cb", "nb"), [(1, 4, 3, 4), (10, 100, 14, 100), (0, 5, 0, 5), (30, 40, 2, 9)])
def test_prob_b_beats_a_matches_numerical_integration(ca: int, na: int, cb: int, nb: int) -> None:
    """The closed form equals the integral of f_B(x) F_A(x) over [0, 1]."""
    assert prob_b_beats_a(ca, na, cb, nb) == pytest.approx(_by_integration(ca, na, cb, nb), abs=1e-7)


def test_prob_b_beats_a_matches_monte_carlo_on_large_counts() -> None:
    """At realistic scale (tens of thousands of clicks) it agrees with a seeded Monte Carlo."""
    ca, na, cb, nb = 36_000, 1_000_000, 36_300, 1_000_000
    rng = np.random.default_rng(0)
    draws = 400_000
    a = rng.beta(1 + ca, 1 + na - ca, draws)
    b = rng.beta(1 + cb, 1 + nb - cb, draws)
    assert prob_b_beats_a(ca, na, cb, nb) == pytest.approx(float((b > a).mean()), abs=5e-3)


@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60), st.integers(0, 60))
def test_prob_is_a_probability_and_complementary(ca: int, extra_a: int, cb: int, extra_b: int) -> None:
    """P(B > A) is in [0, 1], P(B > A) + P(A > B) = 1, and equal data gives 1/2."""
    na, nb = ca + extra_a, cb + extra_b
    p = prob_b_beats_a(ca, na, cb, nb)
    assert 0.0 <= p <= 1.0
    assert p + prob_b_beats_a(cb, nb, ca, na) == pytest.approx(1.0, abs=1e-9)
    assert prob_b_beats_a(ca, na, ca, na) == pytest.approx(0.5, abs=1e-9)


def test_prob_rejects_more_clicks_than_impressions() -> None:
    """Clicks must lie in [0, impressions]."""
    with pytest.raises(ValueError):
        prob_b_beats_a(5, 4, 1, 10)


def test_srm_matches_scipy_chisquare() -> None:
    """Users per arm against expected shares: scipy's chi-square goodness of fit."""
    result = srm({"a": 480, "b": 520, "c": 1100}, {"a": 0.25, "b": 0.25, "c": 0.5})
    ref = stats.chisquare([480, 520, 1100], [525, 525, 1050])
    assert result.chi2 == pytest.approx(ref.statistic)
    assert result.p_value == pytest.approx(ref.pvalue)


def test_srm_edge_cases() -> None:
    """One arm or no users: no mismatch; an unobserved arm counts as zero users."""
    assert srm({"a": 10}, {"a": 1.0}).p_value == 1.0
    assert srm({}, {"a": 0.5, "b": 0.5}).p_value == 1.0
    assert srm({"a": 100}, {"a": 0.5, "b": 0.5}).p_value < 1e-10


def test_expected_shares() -> None:
    """Equal by default; a configured split is normalised and must cover every observed arm."""
    assert expected_shares(["a", "b"], None) == {"a": 0.5, "b": 0.5}
    assert expected_shares(["a", "b"], {"a": 1, "b": 3}) == {"a": 0.25, "b": 0.75}
    with pytest.raises(ValueError, match="no share"):
        expected_shares(["a", "c"], {"a": 1, "b": 1})
    with pytest.raises(ValueError):
        expected_shares(["a"], {"a": -1})
