"""Direction tests of the choice model in :mod:`simnet.behaviour`.

Each test builds a tiny hand-made population (one user, a few items), changes one hidden
attribute and checks that utility, value or click share moves the documented way. Click
shares come from many draws of :func:`simnet.behaviour.choose` with a fixed seed; the same
seed before and after a change gives common random numbers, so the comparisons are sharp.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from simnet import behaviour
from simnet.config import Behaviour
from simnet.population import Catalogue, Users
from simnet.rowsets import EMPTY, PairSet, push_rows

TOPICS = 4
DRAWS = 20_000
NOW_US = 10 * behaviour.US_PER_HOUR
CFG = Behaviour()


def _world(n_items: int, interests: list[float] | None = None) -> tuple[Users, Catalogue, PairSet]:
    """One user (id 0) who likes topic 0, and ``n_items`` identical items about topic 0."""
    users = Users(TOPICS, CFG.memory, CFG.click_memory)
    users._reserve(1)
    users.interests[0] = interests or [0.85, 0.05, 0.05, 0.05]
    items = Catalogue(TOPICS)
    items._reserve(n_items)
    items.mix[:] = np.eye(TOPICS, dtype=np.float32)[0]
    items.quality[:] = 0.3
    items.clickbait[:] = 0.1
    items.creator[:] = 1
    items.created_us[:] = 0
    return users, items, PairSet()


def _appeal(
    users: Users, items: Catalogue, follows: PairSet, slate: list[int], cfg: Behaviour = CFG
) -> behaviour.Appeal:
    return behaviour.appeal(cfg, users, items, follows, np.array([0]), np.array([slate], dtype=np.int64), NOW_US)


def _click_counts(
    users: Users, items: Catalogue, follows: PairSet, slate: list[int], cfg: Behaviour = CFG, seed: int = 0
) -> npt.NDArray[np.int64]:
    """Clicks per slot (and, last, the no-click count) over DRAWS presentations of one slate."""
    who = np.zeros(DRAWS, dtype=np.int64)
    slates = np.tile(np.array(slate, dtype=np.int64), (DRAWS, 1))
    appeal = behaviour.appeal(cfg, users, items, follows, who, slates, NOW_US)
    similarity = behaviour.slate_similarity(items, slates)
    pick = behaviour.choose(
        cfg, appeal.utility, similarity, slates != EMPTY, np.zeros(DRAWS), np.random.default_rng(seed)
    )
    return np.bincount(pick + 1, minlength=len(slate) + 1)[[*range(1, len(slate) + 1), 0]]


def test_quality_raises_utility_and_click_share() -> None:
    """Raising an item's quality raises its utility, its value and its share of clicks."""
    users, items, follows = _world(2)
    before = _click_counts(users, items, follows, [0, 1])
    base = _appeal(users, items, follows, [0, 1])
    items.quality[0] = 1.5
    after = _click_counts(users, items, follows, [0, 1])
    raised = _appeal(users, items, follows, [0, 1])
    assert raised.utility[0, 0] > base.utility[0, 0]
    assert raised.value[0, 0] > base.value[0, 0]
    assert after[0] > 1.2 * before[0]
    assert after[1] <= before[1]


def test_interest_match_raises_click_share() -> None:
    """An item about the user's favourite topic gets more clicks than the same item on a topic they ignore."""
    users, items, follows = _world(2)
    items.mix[0] = np.eye(TOPICS, dtype=np.float32)[2]  # off-topic first
    off = _click_counts(users, items, follows, [0, 1])
    off_appeal = _appeal(users, items, follows, [0, 1])
    items.mix[0] = np.eye(TOPICS, dtype=np.float32)[0]
    on = _click_counts(users, items, follows, [0, 1])
    on_appeal = _appeal(users, items, follows, [0, 1])
    assert on_appeal.utility[0, 0] > off_appeal.utility[0, 0]
    assert on_appeal.value[0, 0] > off_appeal.value[0, 0]
    assert on[0] > 2 * off[0]


def test_match_saturates() -> None:
    """The match term is concave: going from 0.45 to 0.9 interest adds less utility than 0 to 0.45."""
    utility = []
    for share in (0.0, 0.45, 0.9):
        rest = (1.0 - share) / 3
        users, items, follows = _world(1, [share, rest, rest, rest])
        utility.append(float(_appeal(users, items, follows, [0]).utility[0, 0]))
    assert utility[0] < utility[1] < utility[2]
    assert utility[2] - utility[1] < utility[1] - utility[0]
    assert utility[2] - utility[0] <= CFG.w_match + CFG.w_quality * 0.3 * 0.5 + 1e-5


def test_position_bias_identical_items_get_fewer_clicks_lower() -> None:
    """Identical items get strictly fewer clicks at each lower position, about decay**rank of the top."""
    k = 6
    users, items, follows = _world(k)
    counts = _click_counts(users, items, follows, list(range(k)))[:k]
    assert (np.diff(counts) < 0).all(), counts
    ratio = counts[-1] / counts[0]
    assert ratio == pytest.approx(CFG.position_decay ** (k - 1), rel=0.25)


def test_choose_position_bias_with_equal_utilities() -> None:
    """With equal utilities and no slate penalty, slot r's click count follows decay**r."""
    k, draws = 8, 200_000
    cfg = Behaviour(no_click_utility=-50.0)
    utility = np.zeros((draws, k))
    pick = behaviour.choose(
        cfg,
        utility,
        np.zeros((draws, k)),
        np.ones((draws, k), bool),
        np.zeros(draws),
        np.random.default_rng(1),
    )
    assert (pick >= 0).all()
    share = np.bincount(pick, minlength=k) / draws
    expected = cfg.position_decay ** np.arange(k)
    np.testing.assert_allclose(share, expected / expected.sum(), rtol=0.05)


def test_no_click_wins_when_its_utility_is_huge() -> None:
    """With an enormous no_click_utility nobody clicks; with a hugely negative one somebody always does."""
    users, items, follows = _world(3)
    never = _click_counts(users, items, follows, [0, 1, 2], Behaviour(no_click_utility=1e3))
    assert never[:3].sum() == 0 and never[3] == DRAWS
    always = _click_counts(users, items, follows, [0, 1, 2], Behaviour(no_click_utility=-1e3))
    assert always[3] == 0


def test_no_click_grows_with_the_slate_index() -> None:
    """Later slates in a session are clicked less: no_click_per_slate raises the stay option."""
    draws, k = 50_000, 4
    utility = np.full((draws, k), 4.0)
    args = (np.zeros((draws, k)), np.ones((draws, k), bool))
    first = behaviour.choose(CFG, utility, *args, np.zeros(draws), np.random.default_rng(2))
    tenth = behaviour.choose(CFG, utility, *args, np.full(draws, 10), np.random.default_rng(2))
    assert (tenth >= 0).sum() < 0.9 * (first >= 0).sum()


def test_invalid_slots_are_never_chosen() -> None:
    """A slot marked invalid (EMPTY after screening) is never clicked, however high its utility."""
    draws = 5_000
    utility = np.array([[100.0, 0.0, 0.0]] * draws)
    valid = np.array([[False, True, True]] * draws)
    pick = behaviour.choose(
        Behaviour(no_click_utility=-5.0),
        utility,
        np.zeros((draws, 3)),
        valid,
        np.zeros(draws),
        np.random.default_rng(3),
    )
    assert not (pick == 0).any()


def test_clickbait_raises_utility_but_lowers_value() -> None:
    """More clickbait makes an item more attractive (utility, clicks) but less valuable after the click."""
    users, items, follows = _world(2)
    before = _appeal(users, items, follows, [0, 1])
    clicks_before = _click_counts(users, items, follows, [0, 1])
    items.clickbait[0] = 0.9
    after = _appeal(users, items, follows, [0, 1])
    clicks_after = _click_counts(users, items, follows, [0, 1])
    assert after.utility[0, 0] == pytest.approx(before.utility[0, 0] + CFG.w_clickbait * 0.8, abs=1e-4)
    assert after.value[0, 0] == pytest.approx(before.value[0, 0] - CFG.clickbait_regret * 0.8, abs=1e-4)
    assert clicks_after[0] > clicks_before[0]


def test_clicked_before_lowers_utility() -> None:
    """An item in the user's ring of recent clicks loses w_repeat_click of utility; its value is unchanged."""
    users, items, follows = _world(2)
    before = _appeal(users, items, follows, [0, 1])
    clicks_before = _click_counts(users, items, follows, [0, 1])
    push_rows(users.clicked, users.clicked_cursor, np.array([0]), np.array([[0]]))
    after = _appeal(users, items, follows, [0, 1])
    clicks_after = _click_counts(users, items, follows, [0, 1])
    assert after.utility[0, 0] == pytest.approx(before.utility[0, 0] - CFG.w_repeat_click, abs=1e-4)
    assert after.utility[0, 1] == pytest.approx(before.utility[0, 1])
    assert after.value[0, 0] == pytest.approx(before.value[0, 0])
    assert clicks_after[0] < 0.5 * clicks_before[0]


def test_repeated_impressions_lower_utility_up_to_three() -> None:
    """Each earlier impression costs w_repeat_impression of utility, counted up to three times."""
    users, items, follows = _world(1)
    utility = []
    for _ in range(5):
        utility.append(float(_appeal(users, items, follows, [0]).utility[0, 0]))
        push_rows(users.seen, users.seen_cursor, np.array([0]), np.array([[0]]))
    steps = -np.diff(utility)
    np.testing.assert_allclose(steps, [CFG.w_repeat_impression] * 3 + [0.0], atol=1e-4)


def test_boredom_lowers_utility_past_the_threshold() -> None:
    """Boredom on the item's topic costs nothing up to the threshold and w_boredom per unit beyond."""
    users, items, follows = _world(1)
    base = float(_appeal(users, items, follows, [0]).utility[0, 0])
    users.boredom[0, 0] = CFG.boredom_threshold
    assert float(_appeal(users, items, follows, [0]).utility[0, 0]) == pytest.approx(base, abs=1e-5)
    users.boredom[0, 0] = CFG.boredom_threshold + 2.0
    bored = float(_appeal(users, items, follows, [0]).utility[0, 0])
    assert bored == pytest.approx(base - 2.0 * CFG.w_boredom, abs=1e-4)


def test_novelty_fades_with_age() -> None:
    """A brand-new item is more attractive than the same item posted days earlier."""
    users, items, follows = _world(2)
    items.created_us[1] = NOW_US - 72 * behaviour.US_PER_HOUR
    items.created_us[0] = NOW_US
    appeal = _appeal(users, items, follows, [0, 1])
    assert appeal.utility[0, 0] > appeal.utility[0, 1]


def test_following_the_creator_raises_utility() -> None:
    """Items of a followed creator gain w_follow of utility."""
    users, items, follows = _world(1)
    before = float(_appeal(users, items, follows, [0]).utility[0, 0])
    follows.add(np.array([0]), np.array([1]))
    follows.commit()
    after = float(_appeal(users, items, follows, [0]).utility[0, 0])
    assert after == pytest.approx(before + CFG.w_follow, abs=1e-4)


def test_slate_similarity_counts_same_topic_neighbours() -> None:
    """slate_similarity is the share of the other valid slots with the same main topic; EMPTY slots don't count."""
    items = Catalogue(TOPICS)
    items._reserve(4)
    items.mix[:] = np.eye(TOPICS, dtype=np.float32)[[0, 0, 1, 0]]
    slates = np.array([[0, 1, 2, EMPTY], [0, 1, 3, 2], [2, EMPTY, EMPTY, EMPTY]])
    got = behaviour.slate_similarity(items, slates)
    np.testing.assert_allclose(got[0, :3], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(got[1], [2 / 3, 2 / 3, 2 / 3, 0.0])
    np.testing.assert_allclose(got[2, 0], 0.0)


def test_similar_slates_get_fewer_clicks() -> None:
    """A slate all on one topic is clicked less than a slate of equally appealing items on varied topics."""
    draws, k = 50_000, 5
    utility = np.full((draws, k), 5.0)
    args: dict[str, Any] = {"valid": np.ones((draws, k), bool), "slate_index": np.zeros(draws)}
    same = behaviour.choose(CFG, utility, similarity=np.ones((draws, k)), rng=np.random.default_rng(4), **args)
    varied = behaviour.choose(CFG, utility, similarity=np.zeros((draws, k)), rng=np.random.default_rng(4), **args)
    assert (same >= 0).sum() < (varied >= 0).sum()
