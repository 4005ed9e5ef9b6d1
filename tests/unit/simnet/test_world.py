"""Invariants of :mod:`simnet.world`: what any run, under any policy, must never do.

Most tests read one small three-day run per reference policy (the ``small_run`` fixture in
this folder's conftest); a Hypothesis test re-checks the cheap invariants over seeds and
small configurations; the rest drive the world with fake policies that break the protocol.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simnet.config import WorldConfig
from simnet.events import EventLog
from simnet.protocol import (
    EVENT_SCHEMA,
    SLATE_EVENTS,
    EventType,
    RecommendationBatchRequest,
    RecommendationBatchResponse,
    table_to_events,
)
from simnet.runner import RunSpec, simulate
from simnet.world import DAY_US, PolicyError, World
from tests.strategies import small_world_configs
from tests.unit.simnet.worlds import POLICY_NAMES, Run, run_world

SLATE_TYPES = [t.value for t in SLATE_EVENTS]


def _frame(table: pa.Table) -> pd.DataFrame:
    """The event table without its content columns, with ts as int64 microseconds."""
    frame = table.drop_columns(["text", "image"]).to_pandas()
    frame["ts"] = pc.cast(table["ts"], pa.int64()).to_numpy()
    for column in ("item_id", "position", "dwell_ms"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _of(frame: pd.DataFrame, *kinds: EventType) -> pd.DataFrame:
    return frame[frame["type"].isin([k.value for k in kinds])]


# -- invariants, shared by the fixture runs and the Hypothesis runs ------------------------


def check_items_exist_before_use(frame: pd.DataFrame) -> None:
    creates = _of(frame, EventType.CREATE)
    assert creates["item_id"].is_unique, "an item was created twice"
    created = creates.set_index("item_id")["ts"]
    named = frame[frame["item_id"].notna() & (frame["type"] != EventType.CREATE.value)]
    at = named["item_id"].astype("int64").map(created)
    assert at.notna().all(), f"events name items never created: {named[at.isna()].head()}"
    early = named[named["ts"] < at]
    assert early.empty, f"events before their item's creation:\n{early.head()}"


def check_churned_users_are_silent(frame: pd.DataFrame) -> None:
    churns = _of(frame, EventType.CHURN)
    assert churns["user_id"].is_unique, "a user churned twice"
    churned_at = churns.set_index("user_id")["ts"]
    rest = frame[frame["type"] != EventType.CHURN.value]
    after = rest[rest["user_id"].map(churned_at).lt(rest["ts"])]
    assert after.empty, f"churned users acted after churning:\n{after.head()}"


def check_slate_fields(frame: pd.DataFrame, slate_size: int) -> None:
    slate = frame[frame["type"].isin(SLATE_TYPES)]
    for column in ("request_id", "position", "arm", "model_version"):
        assert slate[column].notna().all(), f"slate events without {column}"
    assert (slate["position"] >= 0).all()
    assert (slate["position"] < slate_size).all()
    others = frame[~frame["type"].isin(SLATE_TYPES)]
    assert others["request_id"].isna().all() and others["position"].isna().all()


def check_impressions_per_request(frame: pd.DataFrame, slate_size: int) -> None:
    shown = _of(frame, EventType.IMPRESSION)
    per_request = shown.groupby("request_id")
    assert (per_request.size() <= slate_size).all()
    assert not shown.duplicated(["request_id", "position"]).any(), "two impressions share a slot"
    assert not shown.duplicated(["request_id", "item_id"]).any(), "an item shown twice in one slate"
    assert (per_request["user_id"].nunique() == 1).all(), "a request answered to two users"


def check_responses_follow_impressions(frame: pd.DataFrame) -> None:
    keys = ["request_id", "item_id", "position", "user_id"]
    shown = _of(frame, EventType.IMPRESSION)[keys].drop_duplicates()
    answers = _of(frame, EventType.CLICK, EventType.LIKE, EventType.SHARE, EventType.DWELL)
    joined = answers.merge(shown, on=keys, how="left", indicator=True)
    orphans = joined[joined["_merge"] == "left_only"]
    assert orphans.empty, f"clicks/likes/shares/dwells without their impression:\n{orphans.head()}"


def check_satisfaction_bounds(run: Run) -> None:
    for day, snap in enumerate(run.days):
        sat = snap.satisfaction_after
        assert np.isfinite(sat).all(), f"non-finite satisfaction after day {day}"
        assert sat.min() >= 0.0 and sat.max() <= 1.0, f"satisfaction out of [0, 1] after day {day}"


def check_all(run: Run) -> None:
    frame = _frame(run.table)
    k = run.world.cfg.behaviour.slate_size
    assert frame["event_id"].is_unique
    check_items_exist_before_use(frame)
    check_churned_users_are_silent(frame)
    check_slate_fields(frame, k)
    check_impressions_per_request(frame, k)
    check_responses_follow_impressions(frame)
    check_satisfaction_bounds(run)


# -- the fixture runs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def frame(small_run: Run) -> pd.DataFrame:
    return _frame(small_run.table)


def test_the_run_exercises_what_the_invariants_are_about(small_run: Run, frame: pd.DataFrame) -> None:
    """The fixture world has sessions, clicks, churns, conversions and new creates (no vacuous checks)."""
    counts = frame["type"].value_counts()
    for kind in ("impression", "click", "dwell", "signup", "create", "churn"):
        assert counts.get(kind, 0) > 0, f"no {kind} events"
    assert sum(s.conversions for s in small_run.stats) > 0
    assert small_run.table.schema.equals(EVENT_SCHEMA)


def test_satisfaction_stays_in_unit_interval(small_run: Run) -> None:
    """Every user's hidden satisfaction lies in [0, 1] after every simulated day."""
    check_satisfaction_bounds(small_run)


def test_churned_users_send_nothing_after_churning(frame: pd.DataFrame) -> None:
    """No user churns twice, and no event of a churned user is later than their churn event."""
    check_churned_users_are_silent(frame)


def test_churned_users_are_dead_in_the_world(small_run: Run, frame: pd.DataFrame) -> None:
    """Every user with a churn event is not alive at the end, and every dead user has a churn event."""
    users = small_run.world.users
    dead = set(np.flatnonzero(~users.alive[: users.n]).tolist())
    assert set(_of(frame, EventType.CHURN)["user_id"].tolist()) == dead


def test_no_event_names_an_item_before_its_creation(frame: pd.DataFrame) -> None:
    """Every item named by an event has exactly one create event, no later than the event."""
    check_items_exist_before_use(frame)


def test_item_ids_are_dense_and_match_the_catalogue(small_run: Run, frame: pd.DataFrame) -> None:
    """Create events name items 0..n-1, one each, where n is the world's catalogue size."""
    created = np.sort(_of(frame, EventType.CREATE)["item_id"].to_numpy())
    np.testing.assert_array_equal(created, np.arange(small_run.world.items.n))


def test_new_producers_were_engaged_consumers(small_run: Run) -> None:
    """A user who becomes a producer at a day's end was an alive, non-producing, engaged consumer.

    Engaged means at least ``conversion_engagement`` clicks, likes and shares that day.
    """
    threshold = small_run.world.cfg.dynamics.conversion_engagement
    converted = 0
    for snap in small_run.days:
        n = snap.producer_before.size
        new = np.flatnonzero(snap.producer_after & ~snap.producer_before[:n])
        converted += new.size
        assert snap.alive_before[new].all(), "a churned user started posting"
        assert (snap.engagement_before[new] >= threshold).all(), "an unengaged user started posting"
    assert converted == sum(s.conversions for s in small_run.stats)


def test_only_producers_create_items(small_run: Run, frame: pd.DataFrame) -> None:
    """Each create after genesis comes from a genesis producer or a user converted on an earlier day.

    A converted user's first create follows at least ``conversion_engagement`` of their own
    clicks, likes and shares.
    """
    world, dyn = small_run.world, small_run.world.cfg.dynamics
    became: dict[int, int] = {}  # user -> first microsecond they may post
    for day, snap in enumerate(small_run.days):
        n = snap.producer_before.size
        for user in np.flatnonzero(snap.producer_after & ~snap.producer_before[:n]).tolist():
            became.setdefault(user, world.start_us + (day + 1) * DAY_US)
    genesis = set(small_run.genesis_producers.tolist())
    creates = _of(frame, EventType.CREATE)
    later = creates[creates["ts"] > world.start_us]
    allowed_from = later["user_id"].map(lambda u: world.start_us if u in genesis else became.get(u))
    assert allowed_from.notna().all(), f"creates by users never made producers:\n{later[allowed_from.isna()]}"
    assert (later["ts"] >= allowed_from.astype("int64")).all(), "a converted user posted before converting"

    converts = later[~later["user_id"].isin(genesis)]
    assert not converts.empty, "no converted user posted; the check above was vacuous"
    engaged = _of(frame, EventType.CLICK, EventType.LIKE, EventType.SHARE)
    for who, first in converts.groupby("user_id")["ts"].min().items():
        before = engaged[(engaged["user_id"] == who) & (engaged["ts"] < first)]
        assert len(before) >= dyn.conversion_engagement


def test_slate_events_carry_request_position_arm_and_version(small_run: Run, frame: pd.DataFrame) -> None:
    """Impressions, clicks, likes, shares and dwells carry request_id, position, arm and model_version,
    positions are below slate_size, and no other event type carries request_id or position."""
    check_slate_fields(frame, small_run.world.cfg.behaviour.slate_size)
    assert set(_of(frame, EventType.IMPRESSION)["arm"]) == {small_run.policy.name}


def test_impressions_per_request_fit_the_slate(small_run: Run, frame: pd.DataFrame) -> None:
    """Each request has at most slate_size impressions, one per slot, distinct items, one user."""
    check_impressions_per_request(frame, small_run.world.cfg.behaviour.slate_size)


def test_clicks_answer_an_impression(frame: pd.DataFrame) -> None:
    """Every click, like, share and dwell repeats the request, item, slot and user of an impression."""
    check_responses_follow_impressions(frame)


def test_users_follow_a_creator_at_most_once(frame: pd.DataFrame) -> None:
    """No user follows the same creator twice, nor follows themselves."""
    creator = _of(frame, EventType.CREATE).set_index("item_id")["user_id"]
    follows = _of(frame, EventType.FOLLOW)
    pairs = pd.DataFrame({"user": follows["user_id"].to_numpy(), "creator": follows["item_id"].map(creator).to_numpy()})
    assert not pairs.empty
    assert not pairs.duplicated().any(), f"repeated follows:\n{pairs[pairs.duplicated(keep=False)].head()}"
    assert (pairs["user"] != pairs["creator"]).all()


def test_event_ids_are_unique(frame: pd.DataFrame) -> None:
    """No two events share an event_id (ingestion is idempotent on it)."""
    assert frame["event_id"].is_unique


def test_events_validate_against_the_protocol(small_run: Run) -> None:
    """A sample of 3000 events, plus some of every type, validates as pydantic Events."""
    table = small_run.table
    rng = np.random.default_rng(0)
    rows = rng.choice(len(table), size=min(3000, len(table)), replace=False)
    for kind in EventType:
        where = np.flatnonzero(pc.equal(table["type"], kind.value).to_numpy(zero_copy_only=False))
        rows = np.concatenate([rows, where[:20]])
    events = table_to_events(table.take(np.unique(rows)))
    assert {e.type for e in events} >= {EventType.IMPRESSION, EventType.CLICK, EventType.CREATE}


# -- determinism ------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_same_seed_same_events(policy: str) -> None:
    """Two runs with the same seed, config and policy produce identical event tables, all columns."""
    cfg = WorldConfig.load().with_users(300)
    first = run_world(cfg, policy, 1, seed=5).table
    second = run_world(cfg, policy, 1, seed=5).table
    assert first.equals(second)


def test_different_seed_different_events() -> None:
    """Another seed gives another world: the event tables differ."""
    cfg = WorldConfig.load().with_users(300)
    a = run_world(cfg, "popularity", 1, seed=5).table
    b = run_world(cfg, "popularity", 1, seed=6).table
    assert not a.equals(b)
    assert not a.drop_columns(["event_id"]).slice(0, 1000).equals(b.drop_columns(["event_id"]).slice(0, 1000))


def test_same_seed_same_summary() -> None:
    """simulate() twice with the same spec gives equal summaries apart from seconds and events_per_s."""
    spec = RunSpec(WorldConfig.load().with_users(300), "popularity", 2, 3)
    _, first = simulate(spec, progress=False)
    _, second = simulate(spec, progress=False)
    timing = {"seconds", "events_per_s"}
    assert {k: v for k, v in first.items() if k not in timing} == {k: v for k, v in second.items() if k not in timing}
    _, other = simulate(RunSpec(spec.config, "popularity", 2, 4), progress=False)
    assert other["events"] != first["events"] or other["score"] != first["score"]


# -- over seeds and configurations --------------------------------------------------------


@settings(max_examples=8)
@given(
    cfg=small_world_configs(max_users=400),
    seed=st.integers(0, 2**32 - 1),
    policy=st.sampled_from(POLICY_NAMES),
)
def test_invariants_hold_across_seeds_and_configs(cfg: WorldConfig, seed: int, policy: str) -> None:
    """For any small valid configuration, seed and reference policy, a two-day run keeps every invariant:
    unique event ids, items used only after creation, silent churned users, well-formed slate
    events within slate_size, and satisfaction in [0, 1]."""
    check_all(run_world(cfg, policy, 2, seed))


# -- fake policies ------------------------------------------------------------------------


class _Scripted:
    """A policy whose answers are computed by ``slate(user_ids, k) -> list of slates``."""

    name = "scripted"

    def __init__(self, slate: Any, answers: int = 0) -> None:
        self.slate, self.extra_answers = slate, answers
        self.requests = 0

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse:
        users = request.user_ids
        n = len(users) + self.extra_answers
        self.requests += len(users)
        slates = [list(s) for s in self.slate(users, request.k)][:n]
        slates += [[] for _ in range(n - len(slates))]
        return RecommendationBatchResponse(
            request_ids=[f"q{self.requests}-{i}" for i in range(n)],
            item_ids=slates,
            scores=[[0.0] * len(s) for s in slates],
            arms=["x"] * n,
            model_versions=["m"] * n,
            fallback=[False] * n,
        )

    def observe(self, events: pa.Table) -> None:
        pass


def test_world_screens_invalid_items() -> None:
    """Unknown ids, repeats within a slate and items not yet created are never shown and are counted.

    Each slate holds 4 bad entries (a huge id, a negative id, a repeat and a future item) and
    6 good ones; the world shows exactly the 6 good ones and counts 4 invalid items per request.
    """
    cfg = WorldConfig.load().with_users(300)
    world = World(cfg, 1)
    log = EventLog()
    world.begin(log)
    future = 0
    world.items.created_us[future] = world.start_us + 365 * DAY_US  # hidden state: not yet created
    good = np.arange(1, 40)
    rng = np.random.default_rng(0)

    def slate(users: list[int], k: int) -> list[list[int]]:
        assert k == 10
        out = []
        for _ in users:
            g = rng.choice(good, size=6, replace=False).tolist()
            out.append([10**9, g[0], -7, g[1], g[0], future, g[2], g[3], g[4], g[5]])
        return out

    policy = _Scripted(slate)
    tables = []
    for hour in range(24):
        log = EventLog()
        world.hour(hour, policy, log)
        tables.append(log.table("s", 10**6 * hour))
    frame = _frame(pa.concat_tables(tables))
    shown = _of(frame, EventType.IMPRESSION)
    assert policy.requests > 0
    assert set(shown["item_id"]) <= set(good.tolist())
    assert not shown.duplicated(["request_id", "item_id"]).any()
    assert (shown.groupby("request_id").size() == 6).all()
    assert shown["request_id"].nunique() == policy.requests
    assert world.stats.invalid_items == 4 * policy.requests
    assert not frame["item_id"].isin([10**9, -7, future]).any()


def test_world_accepts_short_and_empty_slates() -> None:
    """Slates shorter than k (even empty) are padded, not rejected: they just show fewer items."""
    world = World(WorldConfig.load().with_users(300), 2)
    world.begin(EventLog())
    policy = _Scripted(lambda users, k: [[1, 2][: u % 3] for u in users])
    log = EventLog()
    for hour in range(12):
        world.hour(hour, policy, log)
    frame = _frame(log.table("s", 0))
    shown = _of(frame, EventType.IMPRESSION)
    assert policy.requests > 0
    assert set(shown["item_id"]) <= {1, 2}
    assert (shown.groupby("request_id").size() <= 2).all()
    assert world.stats.invalid_items == 0


@pytest.mark.parametrize("extra", [-1, 1], ids=["too-few", "too-many"])
def test_wrong_number_of_answers_raises_policy_error(extra: int) -> None:
    """A policy that answers one request fewer, or one more, than asked raises PolicyError."""
    world = World(WorldConfig.load().with_users(300), 3)
    world.begin(EventLog())
    policy = _Scripted(lambda users, k: [[1] for _ in users], answers=extra)
    with pytest.raises(PolicyError, match="answered"):
        for hour in range(24):
            world.hour(hour, policy, EventLog())
