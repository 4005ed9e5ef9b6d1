"""The promotion decision: each check, its observed values, margins at the boundary, the config."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from components.evaluate.promotion import Check, PromotionConfig, decide

POPULARITY = {"ndcg_at_k": 0.10, "recall_at_k": 0.15}
CHAMPION = {"ndcg_at_k": 0.300, "recall_at_k": 0.400}
CONFIG = PromotionConfig(min_ndcg_gain=0.02, max_recall_drop=0.01, min_users=10)


def _checks(decision_checks: list[Check]) -> dict[str, bool]:
    return {c.name: c.passed for c in decision_checks}


def test_first_model_needs_only_to_beat_popularity() -> None:
    """No champion: promote when not worse than popularity; champion checks pass as 'no champion'."""
    decision = decide({"ndcg_at_k": 0.2, "recall_at_k": 0.3}, POPULARITY, None, 100, CONFIG)
    assert decision.promote
    assert _checks(decision.checks) == dict.fromkeys(
        ["enough_users", "ndcg_vs_popularity", "ndcg_vs_champion", "recall_vs_champion"], True
    )
    assert next(c for c in decision.checks if c.name == "ndcg_vs_champion").reason == "no champion"


def test_worse_than_popularity_is_refused() -> None:
    """NDCG below popularity's fails, and the reason names the check and the values."""
    decision = decide({"ndcg_at_k": 0.09, "recall_at_k": 0.3}, POPULARITY, None, 100, CONFIG)
    assert not decision.promote
    assert "ndcg_vs_popularity" in decision.reason and "0.0900 < 0.1000" in decision.reason


@pytest.mark.parametrize(("ndcg", "promote"), [(0.306, True), (0.3059, False), (0.35, True)])
def test_ndcg_margin_over_champion(ndcg: float, promote: bool) -> None:
    """+2% relative: 0.300 must become at least 0.306."""
    decision = decide({"ndcg_at_k": ndcg, "recall_at_k": 0.4}, POPULARITY, CHAMPION, 100, CONFIG)
    assert decision.promote is promote
    check = next(c for c in decision.checks if c.name == "ndcg_vs_champion")
    assert check.observed == ndcg and check.reference == 0.300 and check.threshold == pytest.approx(0.306)


@pytest.mark.parametrize(("recall", "promote"), [(0.396, True), (0.3959, False)])
def test_recall_may_drop_within_tolerance(recall: float, promote: bool) -> None:
    """-1% relative: 0.400 may fall to 0.396, no lower."""
    decision = decide({"ndcg_at_k": 0.4, "recall_at_k": recall}, POPULARITY, CHAMPION, 100, CONFIG)
    assert decision.promote is promote
    assert _checks(decision.checks)["recall_vs_champion"] is promote


def test_too_few_users_blocks_promotion() -> None:
    """Below min_users nothing is promoted, however good the metrics."""
    decision = decide({"ndcg_at_k": 0.9, "recall_at_k": 0.9}, POPULARITY, CHAMPION, 9, CONFIG)
    assert not decision.promote and _checks(decision.checks)["enough_users"] is False


def test_config_from_yaml_and_validation(tmp_path: Path) -> None:
    """Thresholds load from YAML; unknown keys and negative margins are rejected."""
    path = tmp_path / "promotion.yaml"
    path.write_text("min_ndcg_gain: 0.05\nmin_users: 1\n", encoding="utf-8")
    assert PromotionConfig.from_yaml(path) == PromotionConfig(min_ndcg_gain=0.05, min_users=1)
    with pytest.raises(ValidationError):
        PromotionConfig.model_validate({"min_ndcg_gain": -1.5})
    with pytest.raises(ValidationError):
        PromotionConfig.model_validate({"margin": 0.1})
