"""Arms at run time: popularity arms, unresolved and retired aliases, switching experiments, the registry's log."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from components.registry.experiments import ArmConfig, ExperimentConfig, ExperimentLog, ExperimentRecord
from components.registry.registry import Registry
from components.serving.config import ServingConfig
from components.serving.live import now
from components.serving.models import ModelSet
from components.serving.recommender import FALLBACK_VERSION, Recommender
from tests.unit.components.serving.toys import MODEL, T0, created, events, ranked_model, register

POPULAR = ExperimentConfig(name="day1", arms=(ArmConfig(name="control", model="popularity"),))
AB = ExperimentConfig(
    name="ab",
    arms=(
        ArmConfig(name="control", weight=0.5, model="champion"),
        ArmConfig(name="treatment", weight=0.5, model="challenger"),
    ),
)
CHAMPION_ONLY = ExperimentConfig(name="after", arms=(ArmConfig(name="control", model="champion"),))


def serving(tmp_path: Path, **overrides: object) -> ServingConfig:
    return ServingConfig.model_validate(
        # no exploration slots: the popularity feeds asserted here are the ranking itself
        {"registry_root": str(tmp_path / "registry"), "reload_interval_s": 0, "explore_slots": 0, **overrides}
    )


def record(experiment: ExperimentConfig, at: object = None) -> ExperimentRecord:
    return ExperimentRecord(at=at or now(), experiment=experiment, by="test", reason="test")


def champion_and_challenger(tmp_path: Path, n_items: int = 50) -> None:
    register(tmp_path, ranked_model(50, n_items, version="a"))
    register(tmp_path, ranked_model(50, n_items, version="b"), alias="challenger")


def test_a_popularity_arm_serves_popularity_on_purpose(tmp_path: Path) -> None:
    """model "popularity" is a choice, not a fallback: fallback false, no fallback counted, healthy."""
    rec = Recommender.from_config(serving(tmp_path, experiment=POPULAR))
    rec.popularity.seed([7, 8, 9], [1.0, 3.0, 2.0], at_s=1.0)
    [slate] = rec.recommend([1], k=2)
    assert slate.item_ids == [8, 9] and slate.model_version == FALLBACK_VERSION
    assert not slate.fallback and slate.arm == "control"
    assert "tinyworld_serving_fallbacks_total{" not in rec.metrics.render().decode()
    assert [a.error for a in rec.health()] == [None]


def test_an_arm_whose_alias_is_not_set_falls_back_and_is_an_error(tmp_path: Path) -> None:
    """Only the champion exists: the treatment arm's users get popularity (no_model), and health names it."""
    register(tmp_path, ranked_model(50, 50))
    rec = Recommender.from_config(serving(tmp_path, experiment=AB))
    slates = rec.recommend(list(range(50)), k=3)
    by_arm = {s.arm: (s.model_version, s.fallback_reason) for s in slates}
    assert by_arm == {"control": (f"{MODEL}:v1", None), "treatment": (FALLBACK_VERSION, "no_model")}
    control, treatment = rec.health()
    assert control.error is None and control.serves == f"{MODEL}:v1"
    assert treatment.error is not None and "'treatment'" in treatment.error and "'challenger'" in treatment.error
    assert "PUT /admin/experiment" in treatment.error


def test_retiring_an_alias_stops_its_model_but_an_unreadable_registry_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion_and_challenger(tmp_path)
    rec = Recommender.from_config(serving(tmp_path, experiment=AB))
    assert rec.served() == {"control": f"{MODEL}:v1", "treatment": f"{MODEL}:v2"}
    registry = rec.models.registry
    assert registry is not None

    def unreadable(*_: object) -> int:
        raise OSError("connection reset by the object store")

    with monkeypatch.context() as patch:
        patch.setattr(registry, "resolve", unreadable)
        assert rec.refresh() == []
    assert rec.served() == {"control": f"{MODEL}:v1", "treatment": f"{MODEL}:v2"}
    warnings = {a.arm: a.warning for a in rec.health() if a.warning}
    assert set(warnings) == {"control", "treatment"} and "connection reset" in warnings["treatment"]
    assert all(a.error is None for a in rec.health())

    Registry(tmp_path / "registry").retire(MODEL, "challenger", reason="lost the experiment")
    assert rec.refresh() == ["challenger"]
    assert rec.served() == {"control": f"{MODEL}:v1", "treatment": FALLBACK_VERSION}
    assert {s.fallback_reason for s in rec.recommend(list(range(50)), k=1) if s.arm == "treatment"} == {"no_model"}
    [error] = [a.error for a in rec.health() if a.error]
    assert "no alias 'challenger'" in error


def test_a_missing_version_number_is_an_error_too(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(10, 20))
    pinned = ExperimentConfig(name="pinned", arms=(ArmConfig(name="control", model="7"),))
    rec = Recommender.from_config(serving(tmp_path, experiment=pinned))
    [arm] = rec.health()
    assert arm.error is not None and "no version 7" in arm.error and arm.serves == FALLBACK_VERSION


def test_set_experiment_loads_new_models_before_any_request_sees_the_arms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the new arms' models load (slowly), requests are served by the old experiment, whole."""
    champion_and_challenger(tmp_path)
    rec = Recommender.from_config(serving(tmp_path, experiment=POPULAR, seen_per_user=0))
    rec.popularity.add_items(range(50))
    real_load = ModelSet._load
    loading = threading.Event()

    def slow_load(self: ModelSet, ref: str, number: int, catalogue: object) -> object:
        loading.set()
        time.sleep(0.3)
        return real_load(self, ref, number, catalogue)  # type: ignore[arg-type]

    monkeypatch.setattr(ModelSet, "_load", slow_load)
    switch = threading.Thread(target=rec.set_experiment, args=(record(AB),))
    switch.start()
    assert loading.wait(5)
    during = rec.recommend(list(range(20)), k=2)
    switch.join()
    after = rec.recommend(list(range(20)), k=2)
    assert {(s.arm, s.model_version, s.fallback) for s in during} == {("control", FALLBACK_VERSION, False)}
    assert {(s.arm, s.model_version, s.fallback) for s in after} == {
        ("control", f"{MODEL}:v1", False),
        ("treatment", f"{MODEL}:v2", False),
    }


def test_switching_under_concurrent_requests_loses_no_seen_item(tmp_path: Path) -> None:
    """Four threads ask for their own users while the experiment switches back and forth: no request
    fails or falls back, each batch is served wholly by one of the experiments, and no user is ever
    served an item twice (the seen items carry over every switch).

    Switches are paced by the traffic, not by the clock: each comes once every thread has served a few
    batches since the last, and no thread asks for more batches than the catalogue can fill without a
    repeat, so a fast or a slow machine tests the same thing."""
    n_items, k, threads, between = 2000, 2, 4, 5
    budget = n_items // k - 1  # batches per thread: every user can still be served k unseen items
    champion_and_challenger(tmp_path, n_items=n_items)
    rec = Recommender.from_config(serving(tmp_path, experiment=POPULAR))
    rec.popularity.add_items(range(n_items))
    allowed = {
        "day1": {("control", FALLBACK_VERSION)},
        "ab": {("control", f"{MODEL}:v1"), ("treatment", f"{MODEL}:v2")},
        "after": {("control", f"{MODEL}:v1")},
    }
    served: dict[int, list[int]] = {}
    failures: list[str] = []
    batches = [0] * threads
    stop = threading.Event()

    def traffic(worker: int, users: list[int]) -> None:
        try:
            while not stop.is_set() and batches[worker] < budget:
                slates = rec.recommend(users, k=k)
                batches[worker] += 1
                pairs = {(s.arm, s.model_version) for s in slates}
                if not any(pairs <= arms for arms in allowed.values()):
                    failures.append(f"a batch mixed experiments: {pairs}")
                for slate in slates:
                    if slate.fallback or len(slate.item_ids) != k:
                        failures.append(f"user {slate.user_id} got {slate}")
                    served.setdefault(slate.user_id, []).extend(slate.item_ids)
        except Exception as error:  # collected and asserted below
            failures.append(repr(error))

    def traffic_goes_on() -> None:
        """Wait until every thread has served ``between`` more batches (or has used its budget)."""
        target = [b + between for b in batches]
        while any(b < min(t, budget) for b, t in zip(batches, target, strict=True)) and not failures:
            time.sleep(0.001)

    workers = [threading.Thread(target=traffic, args=(t, list(range(t, 40, threads)))) for t in range(threads)]
    for worker in workers:
        worker.start()
    for experiment in (AB, CHAMPION_ONLY, POPULAR, AB, POPULAR):
        traffic_goes_on()
        rec.set_experiment(record(experiment))
    traffic_goes_on()
    stop.set()
    for worker in workers:
        worker.join()
    assert max(batches) < budget, f"a thread used its whole budget of {budget} batches before the last switch"
    assert not failures, failures[:3]
    assert [a.record.experiment.name for a in rec.history] == ["day1", "ab", "after", "day1", "ab", "day1"]
    for user, items in served.items():
        assert len(items) == len(set(items)), f"user {user} was served an item twice"
        assert sorted(rec.seen.get(user)) == sorted(items)


def test_fresh_items_and_popularity_carry_over_a_switch(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(10, 20))
    rec = Recommender.from_config(serving(tmp_path, experiment=CHAMPION_ONLY))
    rec.observe(created(500, creator=3, text="a fresh item"))
    rec.observe(events([{"user_id": 1, "type": "click", "item_id": 500, "ts": T0 + timedelta(hours=1)}]))
    rec.set_experiment(record(POPULAR))
    [slate] = rec.recommend([2], k=1)
    assert slate.item_ids == [500] and len(rec.catalogue) == 1


def test_the_newest_log_record_wins_at_start_and_newer_ones_are_picked_up(tmp_path: Path) -> None:
    champion_and_challenger(tmp_path)
    experiments = ExperimentLog(str(tmp_path / "registry"), MODEL)
    experiments.record(AB, by="loop", reason="challenger v2 against champion v1")
    rec = Recommender.from_config(serving(tmp_path, experiment=POPULAR))
    assert rec.live.applied.source == "registry" and rec.live.applied.record.experiment == AB
    assert rec.served() == {"control": f"{MODEL}:v1", "treatment": f"{MODEL}:v2"}

    assert rec.sync_experiment() is False  # nothing newer
    experiments.record(CHAMPION_ONLY, by="loop", reason="challenger lost")
    rec.reload()
    assert rec.live.applied.record.experiment == CHAMPION_ONLY and rec.served() == {"control": f"{MODEL}:v1"}
    experiments.record(POPULAR, at=T0, reason="an old record, written late")
    assert rec.sync_experiment() is False
    assert [a.source for a in rec.history] == ["config", "registry", "registry"]


def test_the_background_reload_applies_a_new_log_record(tmp_path: Path) -> None:
    champion_and_challenger(tmp_path)
    rec = Recommender.from_config(serving(tmp_path, experiment=POPULAR, reload_interval_s=0.05))
    rec.start()
    try:
        ExperimentLog(str(tmp_path / "registry"), MODEL).record(AB, by="loop", reason="day 2")
        deadline = time.monotonic() + 10
        while rec.live.applied.record.experiment != AB and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        rec.stop()
    assert rec.live.applied.record.experiment == AB and rec.live.applied.source == "registry"
    assert rec.served() == {"control": f"{MODEL}:v1", "treatment": f"{MODEL}:v2"}


def test_a_change_is_recorded_in_the_log_and_not_applied_again_from_it(tmp_path: Path) -> None:
    champion_and_challenger(tmp_path)
    rec = Recommender.from_config(serving(tmp_path, experiment=POPULAR))
    applied = rec.change_experiment(AB, reason="day 2", by="loop")
    latest = ExperimentLog(str(tmp_path / "registry"), MODEL).latest()
    assert latest == applied.record and applied.source == "admin"
    rec.reload()
    assert len(rec.history) == 2 and rec.live.applied is applied
