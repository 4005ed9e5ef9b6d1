"""Tests for the reference policies in :mod:`simnet.policies`: random, popularity and oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from simnet.config import WorldConfig
from simnet.events import EventLog
from simnet.policies import POLICIES, PopularityPolicy, RandomPolicy, make_policy
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE, RecommendationBatchRequest
from simnet.world import World
from tests.unit.simnet.worlds import run_world

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=3)


def _events(creates: list[int], clicks: dict[int, int] | None = None, created: datetime = T0) -> pa.Table:
    """Create events for ``creates`` at ``created``, then ``clicks[item]`` clicks on each item at NOW."""
    rows: list[dict[str, Any]] = [
        {
            "event_id": f"c{i}",
            "ts": created,
            "user_id": 0,
            "type": "create",
            "item_id": i,
            "text": "w0001",
            "image": [0] * IMAGE_SIZE,
        }
        for i in creates
    ]
    for item, n in (clicks or {}).items():
        rows += [
            {
                "event_id": f"k{item}-{j}",
                "ts": NOW,
                "user_id": 1,
                "type": "click",
                "item_id": item,
                "request_id": "r",
                "position": 0,
            }
            for j in range(n)
        ]
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def _ask(policy: Any, users: list[int], k: int = 10) -> list[list[int]]:
    response = policy.recommend(RecommendationBatchRequest(user_ids=users, k=k, ts=NOW))
    assert len(response.request_ids) == len(users)
    assert len(set(response.request_ids)) == len(users)
    return [list(s) for s in response.item_ids]


def test_random_returns_k_distinct_known_items() -> None:
    """Every random slate has k distinct items, all from the catalogue the policy observed."""
    policy = RandomPolicy(np.random.default_rng(0))
    catalogue = list(range(100, 130))
    policy.observe(_events(catalogue))
    slates = _ask(policy, list(range(500)), k=10)
    for slate in slates:
        assert len(slate) == 10
        assert len(set(slate)) == 10
        assert set(slate) <= set(catalogue)
    assert {i for s in slates for i in s} == set(catalogue), "random never shows some items"


def test_random_with_a_small_catalogue_shows_all_of_it() -> None:
    """When k exceeds the catalogue, random returns every known item once."""
    policy = RandomPolicy(np.random.default_rng(0))
    policy.observe(_events([3, 5, 8]))
    for slate in _ask(policy, [0, 1], k=10):
        assert sorted(slate) == [3, 5, 8]


@pytest.mark.parametrize("name", POLICIES)
def test_policies_answer_empty_slates_before_any_item_is_known(name: str) -> None:
    """Before observing a create event, every policy answers each request, with no items."""
    world = World(WorldConfig.load().with_users(100), 0)
    world.begin(EventLog())
    policy = make_policy(name, world)
    slates = _ask(policy, [0, 1, 2])
    assert slates == [[], [], []]


def test_request_ids_are_unique_across_calls() -> None:
    """A policy never reuses a request id, so events can be traced to one response."""
    policy = RandomPolicy(np.random.default_rng(0))
    policy.observe(_events(list(range(20))))
    ids: list[str] = []
    for _ in range(3):
        ids += policy.recommend(RecommendationBatchRequest(user_ids=[0, 1], k=3, ts=NOW)).request_ids
    assert len(set(ids)) == len(ids) == 6


def test_popularity_ranks_clicked_items_first() -> None:
    """Heavily clicked items lead popularity's slates: in most slates they fill the top slots.

    Popularity samples by log(score) with Gumbel noise, so an unclicked item can rarely slip
    ahead; random's slates, for comparison, almost never lead with them.
    """
    hot = [10, 20, 30, 40, 50]
    policy = PopularityPolicy(np.random.default_rng(0))
    policy.observe(_events(list(range(100)), dict.fromkeys(hot, 1000)))
    slates = np.array(_ask(policy, list(range(1000)), k=10))
    leading = np.isin(slates[:, : len(hot)], hot).all(axis=1)
    assert np.isin(slates, hot).sum(axis=1).min() == len(hot), "a slate left out a hot item"
    assert leading.mean() > 0.7
    baseline = RandomPolicy(np.random.default_rng(0))
    baseline.observe(_events(list(range(100))))
    random_slates = np.array(_ask(baseline, list(range(1000)), k=10))
    assert np.isin(random_slates[:, : len(hot)], hot).all(axis=1).mean() < 0.01


def test_popularity_does_not_reserve_while_unserved_candidates_remain() -> None:
    """Popularity serves a user every candidate once before serving any of them again.

    With 12 old items (no fresh ones, so no exploration slots) and k=4, all 12 are candidates;
    three requests of user 7 must show 12 distinct items, and a fourth must repeat.
    """
    policy = PopularityPolicy(np.random.default_rng(1))
    policy.observe(_events(list(range(12)), {i: i + 1 for i in range(12)}))
    assert policy.fresh.size == 0
    served: list[int] = []
    for _ in range(3):
        (slate,) = _ask(policy, [7], k=4)
        assert len(slate) == 4
        served += slate
    assert sorted(served) == list(range(12))
    (again,) = _ask(policy, [7], k=4)
    assert set(again) <= set(served)
    (other,) = _ask(policy, [8], k=4)
    assert len(other) == 4, "another user's memory is separate"


def test_popularity_explores_fresh_items() -> None:
    """Items created in the past day, unclicked, still appear in popularity's exploration slots."""
    policy = PopularityPolicy(np.random.default_rng(2))
    policy.observe(_events(list(range(50)), dict.fromkeys(range(50), 5)))
    policy.observe(_events([50, 51, 52], created=NOW))
    slates = _ask(policy, list(range(300)), k=10)
    assert any({50, 51, 52} & set(s) for s in slates)


def test_popularity_slates_have_no_repeats() -> None:
    """No popularity slate names the same item twice (the world would drop the repeat as invalid)."""
    policy = PopularityPolicy(np.random.default_rng(0))
    policy.observe(_events(list(range(50))))
    policy.observe(_events([50, 51, 52], created=NOW))
    slates = _ask(policy, list(range(200)), k=10)
    repeats = [s for s in slates if len(set(s)) < len(s)]
    assert not repeats, f"{len(repeats)} slates with repeats, e.g. {repeats[0]}"


def test_popularity_large_slates_keep_every_popular_item() -> None:
    """With k=100, no slate leaves out any of 60 items with 200 clicks while showing unclicked ones.

    Under Gumbel top-k sampling an unclicked item (weight log 0.5) would need to beat a
    clicked one (log 200.5) 41 times over to push it off a 100-item slate: practically never.
    """
    hot = list(range(0, 180, 3))
    policy = PopularityPolicy(np.random.default_rng(0))
    policy.observe(_events(list(range(300)), dict.fromkeys(hot, 200)))
    slates = np.array(_ask(policy, list(range(2000)), k=100))
    missing = (np.isin(slates, hot).sum(axis=1) < len(hot)).sum()
    assert missing == 0, f"{missing} of 2000 slates left out a popular item"


def test_oracle_returns_known_distinct_items() -> None:
    """The oracle's slates hold up to k distinct items, all from the catalogue it observed.

    Its candidates are the items of each user's three strongest topics, so in a small
    catalogue a slate can be short, but never empty once items are known.
    """
    run = run_world(WorldConfig.load().with_users(1000), "oracle", 1, seed=2)
    table = run.table
    known = set(pc.unique(table.filter(pc.equal(table["type"], "create"))["item_id"]).to_pylist())
    slates = _ask(run.policy, list(range(200)), k=10)
    for slate in slates:
        assert 0 < len(slate) <= 10
        assert len(set(slate)) == len(slate)
        assert set(slate) <= known
    assert np.mean([len(s) == 10 for s in slates]) > 0.5


def test_make_policy_rejects_unknown_names() -> None:
    """make_policy raises ValueError naming the unknown policy and the valid choices."""
    world = World(WorldConfig.load().with_users(100), 0)
    with pytest.raises(ValueError, match=r"unknown policy 'nope'.*random, popularity, oracle"):
        make_policy("nope", world)
    for name in POLICIES:
        assert make_policy(name, world).name == name


def _ctr(name: str) -> float:
    table = run_world(WorldConfig.load().with_users(2000), name, 2, seed=21).table
    kinds = table["type"]
    return pc.sum(pc.equal(kinds, "click")).as_py() / pc.sum(pc.equal(kinds, "impression")).as_py()


@pytest.mark.slow
def test_ctr_orders_oracle_above_popularity_above_random() -> None:
    """On one 2000-user, two-day world, CTR(oracle) > 1.2 CTR(popularity) > 1.2^2 CTR(random)."""
    ctr = {name: _ctr(name) for name in ("random", "popularity", "oracle")}
    assert ctr["oracle"] > 1.2 * ctr["popularity"], ctr
    assert ctr["popularity"] > 1.2 * ctr["random"], ctr
