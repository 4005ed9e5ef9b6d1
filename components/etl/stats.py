"""A/B statistics on small per-arm aggregates, computed on the driver.

Nothing here touches Spark: the job reduces the events to per-arm sufficient statistics
(users, mean and sample variance of a per-user metric, clicks and impressions) and these
functions turn them into intervals and probabilities.

Users, not impressions, are the independent units: a user's impressions share that user's
taste, so every interval here is built from per-user values.

- :func:`welch` : Welch's t interval (95% by default) and two-sided p-value for the
  difference of two means, from (n, mean, sample variance) of each group (per-user means).
- :func:`prob_positive` : ``P(diff > 0)`` from a Welch result: the Student-t approximation of
  the difference's posterior under a flat prior (consistent with the interval and p-value).
- :func:`ratio_delta` / :func:`ratio_diff` : a pooled ratio of per-user sums (clicks /
  impressions) with its delta-method standard error, and the normal interval of the
  difference of two such ratios.
- :func:`prob_b_beats_a` : the pooled Beta-Binomial ``P(p_B > p_A)`` (``p ~ Beta(1 + clicks,
  1 + impressions - clicks)``, closed form, Evan Miller's sum). It treats every impression as
  independent, so on clustered data (users with different CTRs, many impressions each) it is
  overconfident; the experiments table no longer uses it (tests show why).
- :func:`srm` : chi-square goodness of fit of users per arm against the expected split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# scipy is imported by the functions that use it: every pipeline task imports this module (through
# the ETL's options), and scipy.stats alone costs most of a second of each task's start-up.

EXACT_TERMS_LIMIT = 5_000_000
"""Above this many terms the Beta comparison uses its normal approximation (error < 1e-4)."""


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of one group for Welch's test."""

    n: int  # observations (users)
    mean: float  # sample mean
    var: float  # sample variance (ddof=1); 0.0 when n < 2


@dataclass(frozen=True)
class WelchResult:
    """Difference of means (b - a) with its confidence interval and p-value."""

    diff: float
    low: float
    high: float
    p_value: float
    df: float  # Welch-Satterthwaite degrees of freedom
    se: float  # standard error of diff


def welch(a: Moments, b: Moments, confidence: float = 0.95) -> WelchResult | None:
    """Welch's unequal-variance t interval for ``mean_b - mean_a``.

    None when either group has fewer than 2 observations or both variances are 0 (or so
    small that their squares underflow): the interval is undefined. Agrees with
    ``scipy.stats.ttest_ind(b, a, equal_var=False)``.
    """
    from scipy import stats

    if a.n < 2 or b.n < 2:
        return None
    va, vb = a.var / a.n, b.var / b.n
    se2 = va + vb
    if se2 <= 0.0 or not math.isfinite(se2):
        return None
    spread = va**2 / (a.n - 1) + vb**2 / (b.n - 1)
    if spread <= 0.0:  # variances so small their squares underflow
        return None
    se = math.sqrt(se2)
    df = se2**2 / spread
    diff = b.mean - a.mean
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df)) * se
    p_value = float(2.0 * stats.t.sf(abs(diff) / se, df))
    return WelchResult(diff=diff, low=diff - half, high=diff + half, p_value=p_value, df=df, se=se)


def prob_positive(result: WelchResult) -> float:
    """``P(mean_b - mean_a > 0)``: the Student-t (Welch df) approximation of the difference's posterior.

    Under a flat prior the posterior of a difference of means is approximately
    ``diff + se * t_df``; so this is ``1 - p / 2`` when ``diff > 0`` and ``p / 2`` when it is
    below, 0.5 at 0. It is computed from per-user values, so clustered impressions are not
    counted as independent evidence.
    """
    from scipy import stats

    return float(stats.t.cdf(result.diff / result.se, result.df))


@dataclass(frozen=True)
class RatioSums:
    """Per-user sums of a ratio metric (clicks / impressions): what the delta method needs."""

    n: int  # users
    x: float  # sum over users of the numerator (clicks)
    y: float  # sum over users of the denominator (impressions)
    xx: float  # sum of squared numerators
    yy: float  # sum of squared denominators
    xy: float  # sum of numerator * denominator


@dataclass(frozen=True)
class RatioEstimate:
    """A pooled ratio ``sum x / sum y`` and its delta-method standard error."""

    ratio: float
    se: float


def ratio_delta(s: RatioSums) -> RatioEstimate | None:
    """The pooled ratio ``R = sum x / sum y`` and its delta-method standard error over users.

    ``Var(R) ~ (var_x - 2 R cov_xy + R^2 var_y) / (n * mean_y^2)`` with the per-user sample
    variances and covariance (ddof=1). None with fewer than 2 users or no denominator.
    """
    if s.n < 2 or s.y <= 0:
        return None
    n = float(s.n)
    ratio = s.x / s.y
    var_x = (s.xx - s.x * s.x / n) / (n - 1)
    var_y = (s.yy - s.y * s.y / n) / (n - 1)
    cov = (s.xy - s.x * s.y / n) / (n - 1)
    var = (var_x - 2.0 * ratio * cov + ratio * ratio * var_y) / (n * (s.y / n) ** 2)
    return RatioEstimate(ratio=ratio, se=math.sqrt(max(var, 0.0)))


@dataclass(frozen=True)
class Interval:
    """A difference (b - a) with its confidence interval and two-sided p-value."""

    diff: float
    low: float
    high: float
    p_value: float


def ratio_diff(a: RatioEstimate, b: RatioEstimate, confidence: float = 0.95) -> Interval | None:
    """The normal interval and p-value of ``b.ratio - a.ratio`` (independent groups); None if se is 0."""
    from scipy import stats

    se = math.sqrt(a.se**2 + b.se**2)
    if se <= 0.0 or not math.isfinite(se):
        return None
    diff = b.ratio - a.ratio
    half = float(stats.norm.ppf(0.5 + confidence / 2.0)) * se
    p_value = float(2.0 * stats.norm.sf(abs(diff) / se))
    return Interval(diff=diff, low=diff - half, high=diff + half, p_value=p_value)


def _prob_exact(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """``P(X_B > X_A)``, ``X ~ Beta(alpha, beta)``, for integer ``a_b``: a sum of ``a_b`` terms."""
    from scipy import special

    i = np.arange(a_b, dtype=np.float64)
    log_terms = (
        special.betaln(a_a + i, b_a + b_b) - np.log(b_b + i) - special.betaln(1.0 + i, b_b) - special.betaln(a_a, b_a)
    )
    return float(np.exp(special.logsumexp(log_terms)))


def prob_b_beats_a(clicks_a: int, impressions_a: int, clicks_b: int, impressions_b: int) -> float:
    """``P(ctr_B > ctr_A)`` under independent ``Beta(1 + clicks, 1 + impressions - clicks)`` posteriors.

    Closed form, summing over the smaller of the two alpha parameters; both posteriors are
    continuous so ``P(A > B) = 1 - P(B > A)``. Raises ValueError for clicks outside
    ``[0, impressions]``.
    """
    from scipy import stats

    for c, n in ((clicks_a, impressions_a), (clicks_b, impressions_b)):
        if c < 0 or n < 0 or c > n:
            raise ValueError(f"need 0 <= clicks <= impressions, got {c} / {n}")
    a_a, b_a = 1 + clicks_a, 1 + impressions_a - clicks_a
    a_b, b_b = 1 + clicks_b, 1 + impressions_b - clicks_b
    if min(a_a, a_b) > EXACT_TERMS_LIMIT:
        mean_a, mean_b = a_a / (a_a + b_a), a_b / (a_b + b_b)
        var_a = a_a * b_a / ((a_a + b_a) ** 2 * (a_a + b_a + 1))
        var_b = a_b * b_b / ((a_b + b_b) ** 2 * (a_b + b_b + 1))
        return float(stats.norm.cdf((mean_b - mean_a) / math.sqrt(var_a + var_b)))
    if a_b <= a_a:
        p = _prob_exact(a_a, b_a, a_b, b_b)
    else:
        p = 1.0 - _prob_exact(a_b, b_b, a_a, b_a)
    return min(max(p, 0.0), 1.0)


@dataclass(frozen=True)
class SrmResult:
    """Sample-ratio-mismatch test: chi-square statistic and p-value."""

    chi2: float
    p_value: float


def expected_shares(arms: Sequence[str], split: Mapping[str, float] | None) -> dict[str, float]:
    """Normalised expected share per arm: equal when ``split`` is None.

    Raises ValueError if an arm is missing from ``split`` or a weight is negative.
    """
    if split is None:
        return {arm: 1.0 / len(arms) for arm in arms} if arms else {}
    missing = sorted(set(arms) - set(split))
    if missing:
        raise ValueError(f"arms {missing} have no share in the configured split {dict(split)}")
    if any(w < 0 for w in split.values()) or sum(split.values()) <= 0:
        raise ValueError(f"split weights must be >= 0 with a positive total, got {dict(split)}")
    total = float(sum(split.values()))
    return {arm: split[arm] / total for arm in split}


def srm(observed: Mapping[str, int], shares: Mapping[str, float]) -> SrmResult:
    """Chi-square goodness of fit of users per arm against ``shares`` (arms in ``shares``).

    Arms in ``shares`` that were not observed count as 0 users. One arm, or no users, gives
    chi2 0 and p-value 1.
    """
    from scipy import stats

    arms = sorted(shares)
    counts = np.array([observed.get(arm, 0) for arm in arms], dtype=np.float64)
    total = counts.sum()
    if len(arms) < 2 or total <= 0:
        return SrmResult(chi2=0.0, p_value=1.0)
    expected = np.array([shares[arm] for arm in arms]) * total
    keep = expected > 0
    if np.any(counts[~keep] > 0):
        return SrmResult(chi2=math.inf, p_value=0.0)
    result = stats.chisquare(counts[keep], expected[keep])
    return SrmResult(chi2=float(result.statistic), p_value=float(result.pvalue))
