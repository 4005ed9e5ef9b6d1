"""Chunked full-catalogue top-K: equal to brute force, exclusions never returned."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from components.evaluate.ranking import NO_ITEM, hit_matrix, pair_matrix, top_k, top_k_scores, top_k_shared


def _exclusions(rng: np.random.Generator, n_users: int, n_items: int, per_user: int) -> sparse.csr_matrix:
    rows = np.repeat(np.arange(n_users), per_user)
    cols = rng.integers(0, n_items, n_users * per_user)
    return pair_matrix(rows, cols, (n_users, n_items))


@settings(max_examples=40)
@given(st.integers(1, 30), st.integers(1, 40), st.integers(1, 10), st.integers(0, 5), st.integers(0, 1000))
def test_top_k_matches_brute_force(n_users: int, n_items: int, k: int, per_user: int, seed: int) -> None:
    """Any chunking: the K best non-excluded items by score, best first; -1 where none are left."""
    k = min(k, n_items)
    rng = np.random.default_rng(seed)
    users, items = rng.normal(size=(n_users, 4)), rng.normal(size=(n_items, 4))
    exclude = _exclusions(rng, n_users, n_items, per_user)
    scores = users.astype(np.float32) @ items.astype(np.float32).T
    dense = exclude.toarray()
    for chunk in (1, 3, None):
        top = top_k(users, items, k, exclude, chunk_users=chunk)
        for u in range(n_users):
            allowed = np.flatnonzero(~dense[u])
            expected = allowed[np.argsort(-scores[u, allowed], kind="stable")][:k]
            got = top[u][top[u] != NO_ITEM]
            assert len(got) == min(k, len(allowed))
            assert not dense[u, got].any()
            np.testing.assert_allclose(scores[u, got], scores[u, expected], rtol=1e-6)
            assert (top[u][len(got) :] == NO_ITEM).all()


def test_unavailable_items_are_never_returned() -> None:
    """Items marked unavailable (unknown to a model) are skipped like exclusions."""
    users = np.ones((2, 1))
    items = np.array([[3.0], [2.0], [1.0]])
    top = top_k(users, items, 3, unavailable=np.array([True, False, False]))
    assert top.tolist() == [[1, 2, NO_ITEM], [1, 2, NO_ITEM]]


def test_top_k_rejects_bad_input() -> None:
    """K outside 1..n_items, misshapen exclusions and non-finite vectors are errors."""
    users, items = np.ones((2, 2)), np.ones((3, 2))
    with pytest.raises(ValueError, match="catalogue size"):
        top_k(users, items, 4)
    with pytest.raises(ValueError, match="shape"):
        top_k(users, items, 1, pair_matrix(np.array([0]), np.array([0]), (3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        top_k(np.array([[np.nan, 1.0]]), items, 1)


@settings(max_examples=40)
@given(st.integers(1, 20), st.integers(1, 30), st.integers(1, 8), st.integers(0, 6), st.integers(0, 1000))
def test_shared_scores_match_the_matrix_path(n_users: int, n_items: int, k: int, per_user: int, seed: int) -> None:
    """top_k_shared (popularity) equals top_k with one-dimensional vectors when scores are distinct."""
    k = min(k, n_items)
    rng = np.random.default_rng(seed)
    scores = rng.permutation(n_items).astype(np.float64)
    exclude = _exclusions(rng, n_users, n_items, per_user)
    shared = top_k_shared(scores, n_users, k, exclude)
    matrix = top_k(np.ones((n_users, 1)), scores[:, None], k, exclude)
    np.testing.assert_array_equal(shared, matrix)


def test_shared_ties_follow_catalogue_order() -> None:
    """Equal popularity: the earlier catalogue position first."""
    assert top_k_shared(np.array([1.0, 5.0, 1.0, 5.0]), 1, 4).tolist() == [[1, 3, 0, 2]]


def test_hit_matrix() -> None:
    """Hits are membership of each recommended position in the user's relevant row; -1 never hits."""
    relevant = pair_matrix(np.array([0, 0, 1]), np.array([2, 5, 0]), (2, 6))
    top = np.array([[5, 1, 2], [1, 0, NO_ITEM]])
    assert hit_matrix(top, relevant).tolist() == [[True, False, True], [False, True, False]]


def test_top_k_of_a_score_matrix_leaves_out_excluded_items_and_pads() -> None:
    """Rankers that give scores, not vectors (EASE): best first, exclusions never returned, -1 when too few."""
    scores = np.array([[0.1, 0.9, 0.5, 0.3], [1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    exclude = pair_matrix(np.array([0, 1, 1, 1]), np.array([1, 0, 1, 2]), (2, 4))
    top = top_k_scores(scores, 3, exclude)
    assert top.tolist() == [[2, 3, 0], [3, NO_ITEM, NO_ITEM]]
    assert top_k_scores(scores, 2).tolist() == [[1, 2], [3, 2]]
