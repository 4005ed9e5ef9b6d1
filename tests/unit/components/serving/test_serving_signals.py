"""Seen items and decayed popularity, learnt from event batches; the batch forms equal the per-user ones."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from components.serving.signals import Popularity, SeenItems
from tests.unit.components.serving.toys import T0, events, impressions


def test_seen_items_keep_the_latest_per_user() -> None:
    seen = SeenItems(per_user=3)
    assert seen.observe(impressions(1, [1, 2])) == 2
    seen.observe(impressions(1, [3, 4, 5, 6, 7, 8]))
    seen.observe(impressions(2, [9]))
    assert seen.get(1) == [6, 7, 8]
    assert seen.get(2) == [9]
    assert seen.get(3) == []


def test_seen_items_are_distinct_and_the_latest_occurrence_counts() -> None:
    seen = SeenItems(per_user=3)
    seen.add(1, [1, 2])
    seen.observe(impressions(1, [1, 2]))  # the same feed, shown
    assert seen.get(1) == [1, 2]
    seen.add(1, [3, 1, 4, 5])
    assert seen.get(1) == [1, 4, 5]


def test_seen_items_ignore_other_event_types() -> None:
    seen = SeenItems(per_user=10)
    assert seen.observe(events([{"user_id": 1, "type": "click", "item_id": 4}])) == 0
    assert seen.get(1) == []


def test_popularity_counts_engagement_and_halves_each_half_life() -> None:
    """Three engagements with item 2 an hour (one half-life) ago weigh 1.5 against item 3's one now."""
    pop = Popularity(half_life_s=3600)
    pop.add_items([1, 2, 3])
    pop.observe(events([{"user_id": 1, "type": t, "item_id": 2} for t in ("click", "like", "share")]))
    pop.observe(events([{"user_id": 1, "type": "click", "item_id": 3, "ts": T0 + timedelta(hours=1)}]))
    ids, scores = pop.top(3)
    assert ids.tolist() == [2, 3, 1]
    assert scores.tolist() == [1.5, 1.0, 0.0]


def test_popularity_ranks_ties_newest_first_and_excludes() -> None:
    pop = Popularity(half_life_s=3600)
    pop.add_items([5, 6, 7])
    ids, _ = pop.top(2)
    assert ids.tolist() == [7, 6]
    ids, _ = pop.top(5, exclude=[7])
    assert ids.tolist() == [6, 5]


def test_popularity_seed_and_impressions_do_not_count() -> None:
    pop = Popularity(half_life_s=3600)
    pop.seed([1, 2], [5.0, 1.0], at_s=T0.timestamp())
    pop.observe(impressions(9, [2, 2, 2]))
    ids, scores = pop.top(2)
    assert ids.tolist() == [1, 2] and scores.tolist() == [5.0, 1.0]


class ReferenceSeen:
    """The list-per-user SeenItems it replaced: the semantics the matrix must keep."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self.items: dict[int, list[int]] = {}

    def add(self, user: int, items: list[int]) -> None:
        if self.per_user:
            self.items.setdefault(user, []).extend(items)

    def get(self, user: int) -> list[int]:
        return list(dict.fromkeys(reversed(self.items.get(user, []))))[: self.per_user][::-1]


# a feed (user, items) recorded as served, or a batch of impressions
_feed = st.tuples(st.integers(0, 5), st.lists(st.integers(0, 40), max_size=40))
_step = st.tuples(st.sampled_from(["served", "shown"]), st.lists(_feed, min_size=1, max_size=6))


@settings(max_examples=150, deadline=None)
@given(per_user=st.integers(0, 12), steps=st.lists(_step, max_size=12))
def test_seen_matrix_keeps_the_semantics_of_per_user_lists(per_user: int, steps: list[tuple[str, list]]) -> None:
    """Served feeds (a user may repeat in a batch) and impressions, in any order: each user's items,
    the batch matrix and its padding equal the newest per_user distinct items of the list version."""
    seen, reference = SeenItems(per_user), ReferenceSeen(per_user)
    for kind, feeds in steps:
        if kind == "served":
            seen.add_many([u for u, _ in feeds], [items for _, items in feeds])
        else:
            rows = [{"user_id": u, "type": "impression", "item_id": i} for u, items in feeds for i in items]
            if rows:
                seen.observe(events(rows))
        for user, items in feeds:
            reference.add(user, items)
    users = [0, 1, 2, 3, 4, 5, 99]
    matrix = seen.matrix(users)
    assert matrix.shape[1] <= per_user
    for row, user in enumerate(users):
        expected = reference.get(user)
        assert seen.get(user) == expected
        assert matrix[row, : len(expected)].tolist() == expected
        assert (matrix[row, len(expected) :] == -1).all()


def test_seen_items_switch_to_64_bit_ids_when_one_does_not_fit() -> None:
    seen = SeenItems(per_user=3)
    seen.add(1, [5])
    seen.add(1, [2**40, 5])
    assert seen.get(1) == [2**40, 5]


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 8),
    n_items=st.integers(0, 30),
    seed=st.integers(0, 1000),
    excluded=st.lists(st.lists(st.integers(0, 40), max_size=20), min_size=1, max_size=5),
)
def test_popularity_for_a_batch_equals_one_user_at_a_time(
    k: int, n_items: int, seed: int, excluded: list[list[int]]
) -> None:
    """top_many over a padded exclusion matrix gives each row what filtering the ranking for it gives."""
    rng = np.random.default_rng(seed)
    pop = Popularity(half_life_s=3600)
    pop.seed(np.arange(n_items), rng.integers(0, 4, n_items).astype(float), at_s=1.0)
    width = max(len(e) for e in excluded)
    matrix = np.full((len(excluded), width), -1, np.int64)
    for row, items in enumerate(excluded):
        matrix[row, : len(items)] = items
    ranked, scores = pop.top(n_items + 1)
    for (ids, got), items in zip(pop.top_many(k, matrix), excluded, strict=True):
        keep = ~np.isin(ranked, items)
        assert ids.tolist() == ranked[keep][:k].tolist()
        assert got.tolist() == scores[keep][:k].tolist()
