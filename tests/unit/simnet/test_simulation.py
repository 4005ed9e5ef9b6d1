"""A world lived a day at a time: checkpoints, exact resumption, unique event ids, per-arm figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from simnet.config import WorldConfig
from simnet.protocol import EventType, RecommendationBatchRequest, RecommendationBatchResponse
from simnet.runner import run_report
from simnet.simulation import JOURNAL, Simulation
from simnet.spec import RunSpec

WORLD = WorldConfig.load().with_users(300)


class Recorder:
    """A sink that keeps every table it is given, and can be told to fail on its n-th write."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.tables: list[pa.Table] = []
        self.fail_at = fail_at
        self.flushes = 0

    def write(self, table: pa.Table, name: str) -> None:
        if self.fail_at is not None and len(self.tables) == self.fail_at:
            raise ConnectionError("the platform went away")
        self.tables.append(table)

    def flush(self) -> None:
        self.flushes += 1

    def events(self) -> pa.Table:
        return pa.concat_tables(self.tables)


class Unrepeatable:
    """A policy whose answers a rerun cannot reproduce (like a platform's): random items, own seed."""

    name = "unrepeatable"
    deterministic = False

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def recommend(self, request: RecommendationBatchRequest) -> RecommendationBatchResponse:
        n = len(request.user_ids)
        # the 300-user world starts with 60 items
        slates = [self.rng.choice(60, size=request.k, replace=False).tolist() for _ in range(n)]
        arms = ["a" if u % 2 else "b" for u in request.user_ids]
        first, self.count = self.count, self.count + n
        return RecommendationBatchResponse(
            request_ids=[f"r{self.rng.integers(1 << 40)}-{i}" for i in range(first, first + n)],
            item_ids=slates,
            scores=[[0.0] * request.k for _ in range(n)],
            arms=arms,
            model_versions=[f"m:{arm}" for arm in arms],
            fallback=[False] * n,
        )

    def observe(self, events: pa.Table) -> None:
        pass


def _without_ids(table: pa.Table) -> pa.Table:
    return table.drop_columns(["event_id"])


def test_checkpointed_days_resume_into_the_same_run(tmp_path: Path) -> None:
    """Two days in a row equal one day, a checkpoint, a resume in a new object and the next day."""
    spec = RunSpec(WORLD, "popularity", 2, 5)
    straight = Recorder()
    whole = Simulation(spec, sink=straight)
    whole.live_day()
    whole.live_day()

    first = Recorder()
    part = Simulation(spec, sink=first, state_dir=tmp_path)
    part.live_day()
    second = Recorder()
    resumed = Simulation.resume(tmp_path, sink=second)
    assert resumed.day == 1
    resumed.live_day()

    assert resumed.done and (first.flushes, second.flushes) == (2, 1)  # the genesis is flushed before day 1
    assert pa.concat_tables([first.events(), second.events()]).equals(straight.events())
    assert run_report(resumed).summary["events"] == run_report(whole).summary["events"]


def test_a_run_killed_mid_day_resumes_with_every_event_once(tmp_path: Path) -> None:
    """Killed while delivering day 2, resumed against a platform that answers differently now:
    the journal replays the answers given, so events re-sent carry the same ids and contents,
    and the ids run on without a gap."""
    spec = RunSpec(WORLD, "unrepeatable", 2, 9, tag="t1")
    delivered = Recorder(fail_at=25 + 10)  # day 1 (24 hours + its end), then 10 hours of day 2
    sim = Simulation(spec, Unrepeatable(1), delivered, state_dir=tmp_path)
    sim.live_day()
    with pytest.raises(ConnectionError):
        sim.live_day()
    assert (tmp_path / JOURNAL).stat().st_size > 0

    after = Recorder()
    resumed = Simulation.resume(tmp_path, Unrepeatable(2), after)
    resumed.live_day()
    resumed.close()

    before_kill, again = delivered.events(), after.events()
    by_id = {row["event_id"]: row for row in before_kill.to_pylist()}
    repeated = [row for row in again.to_pylist() if row["event_id"] in by_id]
    assert repeated, "the interrupted hours were delivered again"
    assert all(row == by_id[row["event_id"]] for row in repeated), "a re-sent id carries other content"
    ids = set(by_id) | set(again["event_id"].to_pylist())
    sequence = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
    assert sequence == list(range(len(ids))), "event ids have gaps or repeats"
    assert all(i.startswith(spec.run_id + "-") for i in ids)
    assert resumed.tally.events == len(ids), "the tally counts each event once"


def test_runs_of_the_same_seed_with_other_tags_share_no_event_id() -> None:
    """The tag drawn per run keeps two runs of one seed apart in one lake; the events are the same."""
    one, two = Recorder(), Recorder()
    Simulation(RunSpec(WORLD, "popularity", 1, 3, tag="aaaa"), sink=one).live_day()
    Simulation(RunSpec(WORLD, "popularity", 1, 3, tag="bbbb"), sink=two).live_day()
    assert not set(one.events()["event_id"].to_pylist()) & set(two.events()["event_id"].to_pylist())
    assert _without_ids(one.events()).equals(_without_ids(two.events()))


def test_arms_are_measured_for_the_users_they_serve() -> None:
    """Per arm and day: users split by the echoed arm, reach within [0, 1], return rate from day 2."""
    sink = Recorder()
    sim = Simulation(RunSpec(WORLD, "unrepeatable", 2, 4), Unrepeatable(3), sink)
    sim.live_day()
    sim.live_day()
    arms = sim.tally.arm_frame()
    assert sorted(arms["arm"].unique()) == ["a", "b"]
    assert arms.groupby("day").size().tolist() == [2, 2]
    for row in arms.to_dict("records"):
        lived = pa.concat_tables(sink.tables[25 * row["day"] : 25 * (row["day"] + 1)])  # 24 hours and the day's end
        day = lived.filter(
            pc.and_(pc.equal(lived["type"], EventType.IMPRESSION.value), pc.equal(lived["arm"], row["arm"]))
        )
        assert row["impressions"] == len(day)
        assert row["dau"] == len(pc.unique(day["user_id"]))
        assert 0.0 < row["reach"] <= 1.0 and 0.0 <= row["score"] <= 100.0 and 0.3 < row["share"] < 0.7
        assert row["model_versions"] == f"m:{row['arm']}"
    assert arms.loc[arms["day"] == 0, "return_rate"].isna().all()
    assert arms.loc[arms["day"] == 1, "return_rate"].between(0.0, 1.0).all()


def test_a_reference_run_has_one_arm_matching_the_whole_world() -> None:
    """Under one policy the arm's CTR is the world's and its users are everyone it ever served."""
    sim = Simulation(RunSpec(WORLD, "popularity", 1, 2))
    row = sim.live_day()
    arms = sim.tally.arm_frame()
    assert arms["arm"].tolist() == ["popularity"]
    assert arms["ctr"].iloc[0] == pytest.approx(row["ctr"])
    assert arms["dau"].iloc[0] == row["dau"]
