"""Seen items and decayed popularity, learnt from event batches."""

from __future__ import annotations

from datetime import timedelta

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
