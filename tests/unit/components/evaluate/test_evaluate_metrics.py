"""Ranking metrics: hand-computed cases and properties (bounds, perfect ranking, invariances)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.evaluate.metrics import (
    METRIC_NAMES,
    batch_coverage,
    batch_metrics,
    coverage,
    dcg_at_k,
    hit_rate_at_k,
    ideal_dcg_at_k,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
)

SCALAR = {
    "recall_at_k": recall_at_k,
    "ndcg_at_k": ndcg_at_k,
    "hit_rate_at_k": hit_rate_at_k,
    "mrr": reciprocal_rank_at_k,
}


def test_hand_computed_case() -> None:
    """ranked a b c d, relevant {b, d}, K=3: one hit at rank 2."""
    ranked, relevant = ["a", "b", "c", "d"], {"b", "d"}
    assert recall_at_k(ranked, relevant, 3) == pytest.approx(1 / 2)
    assert dcg_at_k(ranked, relevant, 3) == pytest.approx(1 / math.log2(3))
    assert ideal_dcg_at_k(2, 3) == pytest.approx(1 + 1 / math.log2(3))
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx(0.386853, abs=1e-6)
    assert hit_rate_at_k(ranked, relevant, 3) == 1.0
    assert reciprocal_rank_at_k(ranked, relevant, 3) == 0.5
    # at K = 4 the second relevant item counts too
    assert recall_at_k(ranked, relevant, 4) == 1.0
    assert ndcg_at_k(ranked, relevant, 4) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)), abs=1e-12
    )


def test_more_relevant_than_k_caps_recall_and_ideal_dcg() -> None:
    """|R| = 5 > K = 3 and the top 3 all relevant: recall and NDCG are 1 (denominators use min(|R|, K))."""
    relevant = {"a", "b", "c", "x", "y"}
    assert recall_at_k(["a", "b", "c", "d"], relevant, 3) == 1.0
    assert ndcg_at_k(["a", "b", "c", "d"], relevant, 3) == pytest.approx(1.0)
    assert recall_at_k(["a", "d", "b"], relevant, 3) == pytest.approx(2 / 3)


def test_no_hit_and_short_lists() -> None:
    """No relevant item in the top K scores 0; a list shorter than K is judged as it is."""
    for name, fn in SCALAR.items():
        assert fn(["a", "b"], {"z"}, 2) == 0.0, name
    assert recall_at_k(["z"], {"z", "y"}, 10) == 0.5
    assert reciprocal_rank_at_k(["a", "b", "c", "z"], {"z"}, 3) == 0.0  # MRR is truncated at K


def test_coverage_by_hand() -> None:
    """Distinct items in the top K of all lists, over the catalogue."""
    assert coverage([["a", "b", "c"], ["b", "d", "e"]], 10, 2) == pytest.approx(3 / 10)
    assert coverage([], 0, 3) == 0.0
    assert batch_coverage(np.array([[0, 1], [1, 2]]), 4) == 0.75


def test_undefined_inputs_raise() -> None:
    """No relevant item, K < 1 and repeated items are errors, not silent zeros."""
    with pytest.raises(ValueError, match="without relevant"):
        ndcg_at_k(["a"], set(), 1)
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(["a"], {"a"}, 0)
    with pytest.raises(ValueError, match="repeats"):
        hit_rate_at_k(["a", "a"], {"a"}, 2)
    with pytest.raises(ValueError, match="without relevant"):
        batch_metrics(np.zeros((1, 2), dtype=bool), np.array([0]))


@st.composite
def rankings(draw: st.DrawFn) -> tuple[list[int], set[int], int]:
    """A ranking of distinct items 0..n-1, a non-empty relevant set (maybe outside the list), and K."""
    n = draw(st.integers(1, 30))
    ranked = draw(st.permutations(list(range(n))))
    relevant = draw(st.sets(st.integers(0, n + 5), min_size=1, max_size=n + 5))
    k = draw(st.integers(1, n + 3))
    return list(ranked), relevant, k


@given(rankings())
def test_metrics_lie_in_unit_interval(case: tuple[list[int], set[int], int]) -> None:
    """Every metric is in [0, 1]."""
    ranked, relevant, k = case
    for fn in SCALAR.values():
        assert 0.0 <= fn(ranked, relevant, k) <= 1.0 + 1e-12


@given(st.sets(st.integers(0, 50), min_size=1, max_size=20), st.integers(1, 25), st.integers(0, 1000))
def test_perfect_ranking_scores_one(relevant: set[int], k: int, seed: int) -> None:
    """Relevant items first (in any order), then the rest: every metric is 1."""
    rng = np.random.default_rng(seed)
    ranked = [int(x) for x in rng.permutation(sorted(relevant))] + list(range(100, 130))
    for name, fn in SCALAR.items():
        assert fn(ranked, relevant, k) == pytest.approx(1.0), name


@given(rankings(), st.integers(0, 1000))
def test_permuting_irrelevant_items_changes_nothing(case: tuple[list[int], set[int], int], seed: int) -> None:
    """Shuffling the irrelevant items among their own places leaves every metric unchanged."""
    ranked, relevant, k = case
    places = [i for i, item in enumerate(ranked) if item not in relevant]
    shuffled = list(ranked)
    for place, item in zip(places, np.random.default_rng(seed).permutation([ranked[i] for i in places]), strict=True):
        shuffled[place] = int(item)
    for name, fn in SCALAR.items():
        assert fn(shuffled, relevant, k) == pytest.approx(fn(ranked, relevant, k)), name


@given(rankings())
def test_promoting_a_relevant_item_never_hurts(case: tuple[list[int], set[int], int]) -> None:
    """Swapping a relevant item with the irrelevant item just above it does not lower any metric."""
    ranked, relevant, k = case
    for i in range(1, len(ranked)):
        if ranked[i] in relevant and ranked[i - 1] not in relevant:
            better = list(ranked)
            better[i - 1], better[i] = better[i], better[i - 1]
            for fn in SCALAR.values():
                assert fn(better, relevant, k) >= fn(ranked, relevant, k) - 1e-12
            break


@settings(max_examples=50)
@given(st.lists(rankings(), min_size=1, max_size=8), st.integers(1, 12))
def test_batch_metrics_match_scalar_ones(cases: list[tuple[list[int], set[int], int]], k: int) -> None:
    """batch_metrics over a hit matrix equals the scalar functions user by user."""
    lists = [(ranked[:k] + [-1 - j for j in range(k - len(ranked[:k]))], relevant) for ranked, relevant, _ in cases]
    hits = np.array([[item in relevant for item in ranked] for ranked, relevant in lists])
    n_relevant = np.array([len(relevant) for _, relevant in lists])
    batch = batch_metrics(hits, n_relevant)
    assert set(batch) == set(METRIC_NAMES)
    for row, (ranked, relevant) in enumerate(lists):
        for name, fn in SCALAR.items():
            assert batch[name][row] == pytest.approx(fn(ranked, relevant, k)), name
