"""Arm assignment: deterministic, sticky, and split as configured (chi-square)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from scipy.stats import chisquare

from components.registry.experiments import ArmConfig, ExperimentConfig
from components.serving.experiments import Assigner, bucket


def experiment(weights: dict[str, float], name: str = "exp") -> ExperimentConfig:
    return ExperimentConfig(name=name, arms=tuple(ArmConfig(name=a, weight=w) for a, w in weights.items()))


@pytest.mark.parametrize(
    "weights", [{"control": 1, "treatment": 1}, {"control": 9, "treatment": 1}, {"a": 1, "b": 2, "c": 3}]
)
def test_split_matches_the_weights_within_sampling_error(weights: dict[str, float]) -> None:
    """Over 50,000 users the realised counts pass a chi-square test against the configured shares."""
    assigner = Assigner(experiment(weights))
    users = range(50_000)
    arms = assigner.assign(users)
    observed = [arms.count(name) for name in weights]
    total = sum(weights.values())
    expected = [len(users) * w / total for w in weights.values()]
    assert chisquare(observed, expected).pvalue > 0.001
    assert sum(observed) == len(users)


def test_assignment_is_deterministic_and_independent_of_order() -> None:
    """A user's arm depends on (experiment, user) alone: a fresh assigner, other order, same arms."""
    first = Assigner(experiment({"control": 1, "treatment": 1}))
    second = Assigner(experiment({"control": 1, "treatment": 1}))
    users = list(range(1000))
    assert first.assign(users) == list(reversed(second.assign(list(reversed(users)))))


def test_a_new_experiment_reshuffles_users() -> None:
    """Another experiment name assigns about half the users differently (independent hashes)."""
    users = range(10_000)
    a = Assigner(experiment({"control": 1, "treatment": 1}, "one")).assign(users)
    b = Assigner(experiment({"control": 1, "treatment": 1}, "two")).assign(users)
    changed = sum(x != y for x, y in zip(a, b, strict=True)) / len(a)
    assert 0.45 < changed < 0.55


def test_bucket_is_uniform_in_unit_interval() -> None:
    values = [bucket("exp", u) for u in range(20_000)]
    assert min(values) >= 0.0 and max(values) < 1.0
    deciles = [sum(int(v * 10) == d for v in values) for d in range(10)]
    assert chisquare(deciles).pvalue > 0.001


def test_arm_names_must_be_unique_and_present() -> None:
    with pytest.raises(ValidationError, match="unique"):
        ExperimentConfig.model_validate({"name": "x", "arms": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValidationError, match="at least one arm"):
        ExperimentConfig.model_validate({"name": "x", "arms": []})
    with pytest.raises(ValidationError):
        ArmConfig(name="control", weight=0)
