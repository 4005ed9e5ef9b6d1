"""Should a candidate model replace the champion? A decision with every check spelled out.

The candidate, the popularity baseline and the champion (if there is one) are evaluated on
the **same** split, catalogue and K (see :func:`components.evaluate.evaluator.evaluate`), so
their metrics compare directly. The candidate is promoted when every check passes:

1. ``enough_users``: at least ``min_users`` users were evaluated (fewer is noise);
2. ``ndcg_vs_popularity``: NDCG@K >= popularity's NDCG@K * (1 - popularity_tolerance);
3. ``ndcg_vs_champion``: NDCG@K >= champion's NDCG@K * (1 + min_ndcg_gain);
4. ``recall_vs_champion``: Recall@K >= champion's Recall@K * (1 - max_recall_drop).

Without a champion (the first model), checks 3 and 4 pass as "no champion". Margins are
relative: +2% NDCG means 0.300 must become at least 0.306.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)


class PromotionConfig(BaseModel):
    """Thresholds of the promotion decision (relative margins, as fractions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # NDCG@K must beat the champion's by at least this relative margin (0.02 = +2%), so noise does not churn models
    # (negative: a candidate may be that much worse and still go on to the online test)
    min_ndcg_gain: float = Field(0.02, ge=-1.0)
    # Recall@K may fall at most this fraction below the champion's (0.01 = -1%): NDCG gains must not cost reach
    max_recall_drop: float = Field(0.01, ge=0.0, le=1.0)
    # NDCG@K may fall at most this fraction below popularity's; 0 = a model must not be worse than the baseline
    popularity_tolerance: float = Field(0.0, ge=0.0, le=1.0)
    # fewer evaluated users than this make the comparison noise, so nothing is promoted
    min_users: int = Field(50, ge=1)

    @classmethod
    def from_yaml(cls, path: str | Path) -> PromotionConfig:
        """Load thresholds from a YAML mapping (unknown keys are errors)."""
        with open(path, encoding="utf-8") as f:
            return cls.model_validate(yaml.safe_load(f) or {})


class Check(BaseModel):
    """One check of the decision: what was compared, the observed values and the verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # e.g. ndcg_vs_champion
    passed: bool
    observed: float | None  # the candidate's value (None when the check did not apply)
    reference: float | None  # the value it was compared with (baseline or champion)
    threshold: float | None  # the value the candidate had to reach
    reason: str  # one line, e.g. "ndcg_at_k 0.312 >= 0.306 (champion 0.300 * 1.02)"


class PromotionDecision(BaseModel):
    """The verdict and every check behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    promote: bool
    reason: str  # one line summarising the verdict
    checks: list[Check]
    config: PromotionConfig


def _at_least(name: str, metric: str, observed: float, reference: float, factor: float, against: str) -> Check:
    threshold = reference * factor
    passed = observed >= threshold
    sign = ">=" if passed else "<"
    return Check(
        name=name,
        passed=passed,
        observed=observed,
        reference=reference,
        threshold=threshold,
        reason=f"{metric} {observed:.4f} {sign} {threshold:.4f} ({against} {reference:.4f} * {factor:.4g})",
    )


def decide(
    candidate: dict[str, float],
    popularity: dict[str, float],
    champion: dict[str, float] | None,
    users_evaluated: int,
    config: PromotionConfig | None = None,
) -> PromotionDecision:
    """Decide on promotion from metric blocks (``ndcg_at_k``, ``recall_at_k``) of one evaluation."""
    config = config or PromotionConfig()
    checks = [
        Check(
            name="enough_users",
            passed=users_evaluated >= config.min_users,
            observed=float(users_evaluated),
            reference=None,
            threshold=float(config.min_users),
            reason=f"{users_evaluated} users evaluated ({'>=' if users_evaluated >= config.min_users else '<'} "
            f"{config.min_users})",
        ),
        _at_least(
            "ndcg_vs_popularity",
            "ndcg_at_k",
            candidate["ndcg_at_k"],
            popularity["ndcg_at_k"],
            1.0 - config.popularity_tolerance,
            "popularity",
        ),
    ]
    if champion is None:
        for name in ("ndcg_vs_champion", "recall_vs_champion"):
            checks.append(
                Check(name=name, passed=True, observed=None, reference=None, threshold=None, reason="no champion")
            )
    else:
        checks.append(
            _at_least(
                "ndcg_vs_champion",
                "ndcg_at_k",
                candidate["ndcg_at_k"],
                champion["ndcg_at_k"],
                1.0 + config.min_ndcg_gain,
                "champion",
            )
        )
        checks.append(
            _at_least(
                "recall_vs_champion",
                "recall_at_k",
                candidate["recall_at_k"],
                champion["recall_at_k"],
                1.0 - config.max_recall_drop,
                "champion",
            )
        )
    failed = [c for c in checks if not c.passed]
    if failed:
        reason = "not promoted: " + "; ".join(f"{c.name}: {c.reason}" for c in failed)
    elif champion is None:
        reason = "promoted: no champion yet and the candidate is not worse than popularity"
    else:
        reason = "promoted: beats the champion on NDCG@K by the margin, keeps Recall@K, not worse than popularity"
    log.info("promotion decision: %s", reason)
    return PromotionDecision(promote=not failed, reason=reason, checks=checks, config=config)
