"""Tests for :mod:`simnet.rowsets`: per-row membership, ring buffers and pair sets.

Each vectorised operation is checked against a plain-Python reference on Hypothesis-drawn
inputs, plus hand-written cases for the edges (EMPTY, wrap-around, staging).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simnet.rowsets import EMPTY, PairSet, count_in_rows, isin_rows, push_rows
from tests.strategies import id_matrices, needles_and_haystacks

IdMatrix = npt.NDArray[np.int64]


def _reference_counts(needles: IdMatrix, haystack: IdMatrix) -> IdMatrix:
    out = np.zeros(needles.shape, dtype=np.int64)
    for i in range(needles.shape[0]):
        row = haystack[i].tolist()
        for j, needle in enumerate(needles[i].tolist()):
            out[i, j] = 0 if needle == EMPTY else row.count(needle)
    return out


@given(needles_and_haystacks())
def test_count_in_rows_matches_brute_force(pair: tuple[IdMatrix, IdMatrix]) -> None:
    """count_in_rows[i, j] is how often needles[i, j] occurs in haystack row i only (not other rows)."""
    needles, haystack = pair
    got = count_in_rows(needles, haystack)
    assert got.shape == needles.shape
    np.testing.assert_array_equal(got, _reference_counts(needles, haystack))


@given(needles_and_haystacks())
def test_isin_rows_matches_brute_force(pair: tuple[IdMatrix, IdMatrix]) -> None:
    """isin_rows is per-row membership: True iff the needle (not EMPTY) occurs in its own row."""
    needles, haystack = pair
    got = isin_rows(needles, haystack)
    assert got.dtype == bool
    np.testing.assert_array_equal(got, _reference_counts(needles, haystack) > 0)


@given(needles_and_haystacks(max_id=3))
def test_empty_never_matches(pair: tuple[IdMatrix, IdMatrix]) -> None:
    """An EMPTY needle counts zero even when the haystack row is full of EMPTY markers."""
    needles, haystack = pair
    needles = needles.copy()
    needles[:, ::2] = EMPTY
    haystack = haystack.copy()
    haystack[:, ::3] = EMPTY
    got = count_in_rows(needles, haystack)
    assert (got[needles == EMPTY] == 0).all()


def test_empty_against_all_empty_rows() -> None:
    """All-EMPTY needles against all-EMPTY haystacks (ids never above -1) give zero counts."""
    needles = np.full((3, 2), EMPTY, dtype=np.int64)
    haystack = np.full((3, 4), EMPTY, dtype=np.int64)
    np.testing.assert_array_equal(count_in_rows(needles, haystack), np.zeros((3, 2)))


def test_count_in_rows_keeps_rows_apart() -> None:
    """An id in another user's row does not count: membership is per row."""
    needles = np.array([[5, 7], [5, 7]])
    haystack = np.array([[5, 5, EMPTY], [7, 1, 2]])
    np.testing.assert_array_equal(count_in_rows(needles, haystack), [[2, 0], [0, 1]])


def test_count_in_rows_rejects_mismatched_rows() -> None:
    """Needles and haystack with different numbers of rows raise ValueError."""
    with pytest.raises(ValueError, match="one row per user"):
        count_in_rows(np.zeros((2, 3), dtype=np.int64), np.zeros((3, 3), dtype=np.int64))


def _reference_push(ring: IdMatrix, cursor: IdMatrix, rows: IdMatrix, values: IdMatrix) -> tuple[IdMatrix, IdMatrix]:
    ring, cursor = ring.copy(), cursor.copy()
    width = ring.shape[1]
    for i, r in enumerate(rows.tolist()):
        for v in values[i].tolist():
            if v == EMPTY:
                continue
            ring[r, cursor[r]] = v
            cursor[r] = (cursor[r] + 1) % width
    return ring, cursor


@st.composite
def _ring_pushes(draw: st.DrawFn) -> tuple[IdMatrix, IdMatrix, IdMatrix, IdMatrix]:
    n_rows = draw(st.integers(1, 6))
    width = draw(st.integers(1, 6))
    ring = draw(id_matrices(n_rows, st.just(width), max_id=50))
    cursor = draw(hnp.arrays(np.int64, n_rows, elements=st.integers(0, width - 1)))
    rows = np.array(draw(st.permutations(range(n_rows)))[: draw(st.integers(0, n_rows))], dtype=np.int64)
    values = draw(id_matrices(rows.size, st.integers(0, 2 * width), max_id=50))
    return ring, cursor, rows, values


@given(_ring_pushes())
def test_push_rows_matches_sequential_ring(case: tuple[IdMatrix, IdMatrix, IdMatrix, IdMatrix]) -> None:
    """push_rows equals appending values one at a time: EMPTY skipped, wrap-around, oldest overwritten.

    Pushes may be wider than the ring, so a row wraps more than once within a single call.
    """
    ring, cursor, rows, values = case
    want_ring, want_cursor = _reference_push(ring, cursor, rows, values)
    push_rows(ring, cursor, rows, values)
    np.testing.assert_array_equal(ring, want_ring)
    np.testing.assert_array_equal(cursor, want_cursor)


def test_push_rows_wraps_and_skips_empty() -> None:
    """A hand-checked case: the cursor wraps to the start and EMPTY values take no slot."""
    ring = np.full((2, 3), EMPTY, dtype=np.int64)
    cursor = np.array([2, 0], dtype=np.int64)
    push_rows(ring, cursor, np.array([0, 1]), np.array([[10, EMPTY, 11], [EMPTY, EMPTY, EMPTY]]))
    np.testing.assert_array_equal(ring, [[11, EMPTY, 10], [EMPTY, EMPTY, EMPTY]])
    np.testing.assert_array_equal(cursor, [1, 0])
    push_rows(ring, cursor, np.array([0]), np.array([[12, 13]]))
    np.testing.assert_array_equal(ring, [[11, 12, 13], [EMPTY, EMPTY, EMPTY]])
    np.testing.assert_array_equal(cursor, [0, 0])


def test_push_rows_only_touches_named_rows() -> None:
    """Rows not named in ``rows`` keep their contents and cursor."""
    ring = np.arange(12, dtype=np.int64).reshape(4, 3)
    cursor = np.array([0, 1, 2, 0], dtype=np.int64)
    push_rows(ring, cursor, np.array([2]), np.array([[99]]))
    np.testing.assert_array_equal(ring[[0, 1, 3]], np.arange(12).reshape(4, 3)[[0, 1, 3]])
    np.testing.assert_array_equal(ring[2], [6, 7, 99])
    np.testing.assert_array_equal(cursor, [0, 1, 0, 0])


_pair_ids = st.integers(0, 2**31 - 1)
_pairs = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)) | st.tuples(_pair_ids, _pair_ids))


def _arrays(pairs: list[tuple[int, int]]) -> tuple[IdMatrix, IdMatrix]:
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    return a, b


@given(batches=st.lists(_pairs, max_size=4), probes=_pairs)
def test_pairset_matches_python_set(batches: list[list[tuple[int, int]]], probes: list[tuple[int, int]]) -> None:
    """After add+commit batches, contains() equals membership in a Python set of pairs; len counts distinct."""
    pairs = PairSet()
    reference: set[tuple[int, int]] = set()
    for batch in batches:
        pairs.add(*_arrays(batch))
        pairs.commit()
        reference.update(batch)
    assert len(pairs) == len(reference)
    asked = probes + sorted(reference)
    got = pairs.contains(*_arrays(asked))
    assert got.tolist() == [p in reference for p in asked]


def test_pairset_is_ordered_pairs() -> None:
    """(a, b) is not (b, a): following is directed."""
    pairs = PairSet()
    pairs.add(np.array([1]), np.array([2]))
    pairs.commit()
    assert pairs.contains(np.array([1, 2]), np.array([2, 1])).tolist() == [True, False]


def test_pairset_staged_pairs_are_invisible_until_commit() -> None:
    """Added pairs are not contained before commit(), and are after it; commit of nothing is a no-op."""
    pairs = PairSet()
    assert not pairs.contains(np.array([3]), np.array([4])).any()
    pairs.add(np.array([3, 3]), np.array([4, 4]))
    assert not pairs.contains(np.array([3]), np.array([4])).any()
    assert len(pairs) == 0
    pairs.commit()
    pairs.commit()
    assert pairs.contains(np.array([3]), np.array([4])).all()
    assert len(pairs) == 1


def test_pairset_contains_broadcasts() -> None:
    """contains() broadcasts a (B, 1) column against a (B, K) matrix, as the choice model asks it."""
    pairs = PairSet()
    pairs.add(np.array([0, 1]), np.array([5, 6]))
    pairs.commit()
    who = np.array([[0], [1]])
    creators = np.array([[5, 6, 7], [5, 6, 7]])
    np.testing.assert_array_equal(pairs.contains(who, creators), [[True, False, False], [False, True, False]])
