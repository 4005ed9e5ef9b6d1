"""Exact top-k retrieval: equal to brute force, honours exclusions, grows without losing rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.serving.index import ItemIndex


@given(
    n_items=st.integers(1, 60),
    k=st.integers(1, 70),
    seed=st.integers(0, 10_000),
    n_excluded=st.integers(0, 60),
)
def test_top_k_equals_brute_force(n_items: int, k: int, seed: int, n_excluded: int) -> None:
    """The ids returned are the k best by score among the items not excluded, best first."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(1000)[:n_items]
    vectors = rng.normal(size=(n_items, 4)).astype(np.float32)
    query = rng.normal(size=(1, 4)).astype(np.float32)
    excluded = set(rng.choice(ids, size=min(n_excluded, n_items), replace=False).tolist())
    index = ItemIndex(ids, vectors)
    got_ids, got_scores = index.top_k(query, k, [index.positions(list(excluded))])
    scores = vectors @ query[0]
    allowed = [(s, i) for s, i in zip(scores.tolist(), ids.tolist(), strict=True) if i not in excluded]
    expected = sorted(allowed, reverse=True)[:k]
    assert len(got_ids[0]) == len(expected)
    np.testing.assert_allclose(got_scores[0], [s for s, _ in expected], rtol=1e-5, atol=1e-6)
    true_scores = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    np.testing.assert_allclose([true_scores[i] for i in got_ids[0].tolist()], got_scores[0], rtol=1e-5, atol=1e-6)
    assert not set(got_ids[0].tolist()) & excluded


def test_upsert_adds_new_items_and_replaces_known_ones() -> None:
    index = ItemIndex([10, 20], np.array([[1.0], [2.0]], np.float32))
    assert index.upsert([20, 30, 30], np.array([[0.5], [3.0], [9.0]], np.float32)) == 1
    ids, scores = index.top_k(np.ones((1, 1), np.float32), 3)
    assert ids[0].tolist() == [30, 10, 20]
    assert scores[0].tolist() == [3.0, 1.0, 0.5]


def test_growth_past_capacity_keeps_every_row() -> None:
    index = ItemIndex(np.arange(3), np.ones((3, 2), np.float32))
    for start in range(3, 5003, 500):
        index.upsert(np.arange(start, start + 500), np.full((500, 2), start, np.float32))
    assert len(index) == 5003
    ids, _ = index.top_k(np.ones((1, 2), np.float32), 1)
    assert ids[0].tolist()[0] >= 4503
    assert 4000 in index and 6000 not in index


def test_rejects_bad_shapes_and_duplicates() -> None:
    with pytest.raises(ValueError, match="n_items"):
        ItemIndex([1, 2], np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="unique"):
        ItemIndex([1, 1], np.ones((2, 2), np.float32))


def test_empty_index_returns_empty_slates() -> None:
    index = ItemIndex(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    ids, scores = index.top_k(np.ones((2, 3), np.float32), 5)
    assert [len(i) for i in ids] == [0, 0] and [len(s) for s in scores] == [0, 0]
