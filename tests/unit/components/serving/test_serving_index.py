"""Exact top-k retrieval: equal to brute force in any block size, honours exclusions, grows without losing rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import components.serving.index as index_module
from components.serving.index import ItemIndex
from components.serving.positions import IdPositions


@settings(deadline=None)
@given(
    n_items=st.integers(1, 60),
    k=st.integers(1, 70),
    seed=st.integers(0, 10_000),
    n_queries=st.integers(1, 5),
    n_excluded=st.integers(0, 60),
    block=st.sampled_from([1, 7, 1 << 20]),
)
def test_top_k_equals_brute_force(n_items: int, k: int, seed: int, n_queries: int, n_excluded: int, block: int) -> None:
    """Per query: the k best by score among the items not excluded, best first, whatever the block size.

    Exclusions are a padded matrix of ids (some unknown to the index) mapped to positions in one call.
    """
    rng = np.random.default_rng(seed)
    ids = rng.permutation(1000)[:n_items]
    vectors = rng.normal(size=(n_items, 4)).astype(np.float32)
    queries = rng.normal(size=(n_queries, 4)).astype(np.float32)
    excluded = [set(rng.choice(1000, size=rng.integers(0, n_excluded + 1), replace=False).tolist()) for _ in queries]
    matrix = np.full((n_queries, max(map(len, excluded))), -1, np.int64)
    for row, items in enumerate(excluded):
        matrix[row, : len(items)] = sorted(items)
    index = ItemIndex(ids, vectors)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index_module, "BLOCK_SCORES", block)
        got_ids, got_scores = index.top_k(queries, k, index.positions(matrix))
    for row, query in enumerate(queries):
        scores = vectors @ query
        allowed = [(s, i) for s, i in zip(scores.tolist(), ids.tolist(), strict=True) if i not in excluded[row]]
        expected = sorted(allowed, reverse=True)[:k]
        assert len(got_ids[row]) == len(expected)
        np.testing.assert_allclose(got_scores[row], [s for s, _ in expected], rtol=1e-5, atol=1e-6)
        true_scores = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        got_true = [true_scores[i] for i in got_ids[row].tolist()]
        np.testing.assert_allclose(got_true, got_scores[row], rtol=1e-5, atol=1e-6)
        assert not set(got_ids[row].tolist()) & excluded[row]


@given(
    ids=st.lists(st.integers(-(2**40), 2**40), unique=True, max_size=40)
    | st.lists(st.integers(0, 100), unique=True, max_size=40),
    queries=st.lists(st.integers(-5, 2**40), max_size=30) | st.lists(st.integers(-1, 120), max_size=30),
)
def test_id_positions_equal_a_dict_lookup(ids: list[int], queries: list[int]) -> None:
    """Dense table (small ids) or sorted search (others): each id's position, -1 for one not there."""
    lookup = IdPositions(np.asarray(ids, np.int64))
    where = {item: position for position, item in enumerate(ids)}
    assert lookup(np.asarray(queries, np.int64)).tolist() == [where.get(q, -1) for q in queries]
    assert lookup(np.asarray(queries, np.int64).reshape(-1, 1)).shape == (len(queries), 1)


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
    assert index.positions(np.array([[4000, 6000, -1]])).tolist() == [[4000, -1, -1]]


def test_rejects_bad_shapes_and_duplicates() -> None:
    with pytest.raises(ValueError, match="n_items"):
        ItemIndex([1, 2], np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="unique"):
        ItemIndex([1, 1], np.ones((2, 2), np.float32))


def test_empty_index_returns_empty_slates() -> None:
    index = ItemIndex(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    ids, scores = index.top_k(np.ones((2, 3), np.float32), 5)
    assert [len(i) for i in ids] == [0, 0] and [len(s) for s in scores] == [0, 0]
