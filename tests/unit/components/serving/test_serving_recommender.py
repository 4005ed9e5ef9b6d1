"""The recommender: arms and models, seen filtering, cold users, fresh items, fallbacks, swaps."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from components.registry.experiments import ArmConfig, ExperimentConfig
from components.serving.config import ServingConfig
from components.serving.models import build_model
from components.serving.recommender import FALLBACK_VERSION, Recommender, Slate
from tests.unit.components.serving.toys import MODEL, created, impressions, profile, ranked_model, register


def serving(tmp_path: Path, **overrides: object) -> ServingConfig:
    return ServingConfig.model_validate(
        # no exploration slots: the popularity feeds asserted here are the ranking itself
        {"registry_root": str(tmp_path / "registry"), "reload_interval_s": 0, "explore_slots": 0, **overrides}
    )


def ids(slate: Slate) -> list[int]:
    return list(slate.item_ids)


def with_encoder(tmp_path: Path, n_users: int, n_items: int) -> Recommender:
    """A recommender serving a model with the toy content encoder (published directly: not saveable)."""
    rec = Recommender.from_config(serving(tmp_path))
    artifact = ranked_model(n_users, n_items, encoder=True)
    rec.publish("champion", build_model("champion", 1, f"{MODEL}:v1", artifact, rec.catalogue.content()))
    return rec


def test_serves_the_champion_best_first(tmp_path: Path) -> None:
    version = register(tmp_path, ranked_model(10, 50))
    rec = Recommender.from_config(serving(tmp_path))
    [slate] = rec.recommend([3], k=4)
    assert ids(slate) == [0, 1, 2, 3]
    assert slate.model_version == f"{MODEL}:v{version}" and not slate.fallback
    assert slate.arm == "control" and len(slate.request_id) == 32


def test_items_already_shown_are_filtered(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(10, 50))
    rec = Recommender.from_config(serving(tmp_path))
    rec.observe(impressions(3, [0, 2]))
    assert ids(rec.recommend([3], k=3)[0]) == [1, 3, 4]
    assert ids(rec.recommend([4], k=3)[0]) == [0, 1, 2]  # another user is unaffected


def test_items_served_are_not_served_again_before_their_impressions_arrive(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(10, 50))
    rec = Recommender.from_config(serving(tmp_path))
    assert ids(rec.recommend([3], k=3)[0]) == [0, 1, 2]
    assert ids(rec.recommend([3], k=3)[0]) == [3, 4, 5]
    rec.observe(impressions(3, [0, 1, 2]))  # the impressions of the first feed, late
    assert ids(rec.recommend([3], k=3)[0]) == [6, 7, 8]


def test_without_a_model_popularity_answers_and_says_so(tmp_path: Path) -> None:
    rec = Recommender.from_config(serving(tmp_path))
    rec.popularity.seed([7, 8, 9], [1.0, 3.0, 2.0], at_s=1.0)
    [slate] = rec.recommend([1], k=2)
    assert ids(slate) == [8, 9]
    assert slate.fallback and slate.fallback_reason == "no_model" and slate.model_version == FALLBACK_VERSION
    assert 'tinyworld_serving_fallbacks_total{reason="no_model"} 1.0' in rec.metrics.render().decode()


def test_a_failing_model_falls_back_for_its_arm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register(tmp_path, ranked_model(10, 50))
    rec = Recommender.from_config(serving(tmp_path))
    rec.popularity.seed([42], [1.0], at_s=1.0)
    model = rec.models.get("champion")
    assert model is not None

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("corrupt index")

    monkeypatch.setattr(model.index, "top_k", broken)
    [slate] = rec.recommend([1], k=3)
    assert slate.fallback_reason == "model_error" and ids(slate) == [42]


def test_unseen_users_are_embedded_from_their_online_profile(tmp_path: Path) -> None:
    """User 99 is unknown to the model; a profile pointing the other way reverses their ranking."""
    rec = with_encoder(tmp_path, 10, 20)
    asked: list[list[int]] = []

    def profiles(users: Sequence[int]) -> npt.NDArray[np.float32]:
        asked.append(list(users))
        return np.stack([profile(-1.0) if u == 99 else np.full(profile(0).shape, np.nan, np.float32) for u in users])

    rec.profiles = profiles
    known, unseen, no_profile = rec.recommend([1, 99, 98], k=3)
    assert ids(known) == [0, 1, 2]
    assert ids(unseen) == [19, 18, 17]
    assert ids(no_profile) == [0, 1, 2]  # the cold-user vector
    assert asked == [[99, 98]]  # only users the model never saw are looked up


def test_a_failing_feature_store_falls_back(tmp_path: Path) -> None:
    rec = with_encoder(tmp_path, 10, 20)

    def down(users: Sequence[int]) -> npt.NDArray[np.float32]:
        raise ConnectionError("redis unreachable")

    rec.profiles = down
    assert rec.recommend([1], k=2)[0].fallback_reason is None  # a known user needs no lookup
    assert rec.recommend([99], k=2)[0].fallback_reason == "features_error"


def test_fresh_items_are_embedded_from_their_content_at_once(tmp_path: Path) -> None:
    """A create event's text makes the new item rankable by every loaded model, and by popularity."""
    rec = with_encoder(tmp_path, 10, 5)
    model = rec.models.get("champion")
    assert model is not None
    word = next(w for w in (f"w{i}" for i in range(1000)) if model.artifact.embed_items(_text(w))[0, 0] > 0)
    assert len(ids(rec.recommend([1], k=6)[0])) == 5
    rec.observe(created(1000, creator=4, text=" ".join([word] * 3)))
    assert 1000 in model.index and len(rec.catalogue) == 1
    assert 1000 in ids(rec.recommend([1], k=6)[0])
    assert "tinyworld_serving_fresh_items_total 1.0" in rec.metrics.render().decode()


def _text(word: str) -> pd.DataFrame:
    return pd.DataFrame({"text": [word]})


def test_arms_serve_their_own_models(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(10, 20, version="a"))
    register(tmp_path, ranked_model(10, 20, version="b"), alias="challenger")
    arms = (ArmConfig(name="control"), ArmConfig(name="treatment", model="challenger"))
    rec = Recommender.from_config(serving(tmp_path, experiment=ExperimentConfig(name="e", arms=arms)))
    slates = rec.recommend(list(range(200)), k=1)
    by_arm = {s.arm: s.model_version for s in slates}
    assert by_arm == {"control": f"{MODEL}:v1", "treatment": f"{MODEL}:v2"}
    assert [s.arm for s in slates] == rec.assigner.assign(range(200))


def test_model_swap_under_concurrent_requests_drops_nothing(tmp_path: Path) -> None:
    """While the champion alias moves and refresh swaps models, every request gets a full slate."""
    register(tmp_path, ranked_model(50, 200, version="a"))
    rec = Recommender.from_config(serving(tmp_path, seen_per_user=0))  # the same users ask again and again
    seen_versions: set[str] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            try:
                for slate in rec.recommend(list(range(20)), k=5):
                    assert len(slate.item_ids) == 5 and not slate.fallback
                    seen_versions.add(slate.model_version)
            except BaseException as error:  # noqa: BLE001 (collected and asserted below)
                errors.append(error)
                return

    workers = [threading.Thread(target=traffic) for _ in range(2)]
    for w in workers:
        w.start()
    for name in ("b", "c"):
        register(tmp_path, ranked_model(50, 200, version=name))
        assert rec.refresh() == ["champion"]
    stop.set()
    for w in workers:
        w.join()
    assert not errors
    assert rec.served() == {"control": f"{MODEL}:v3"}
    assert f"{MODEL}:v1" in seen_versions and rec.models.swaps == 3


def test_a_broken_new_version_keeps_the_old_model(tmp_path: Path) -> None:
    register(tmp_path, ranked_model(10, 20))
    rec = Recommender.from_config(serving(tmp_path))
    broken = register(tmp_path, ranked_model(10, 20, version="broken"))
    (Path(rec.models.registry.get(MODEL, broken)) / "arrays.npz").write_bytes(b"not an npz")  # type: ignore[union-attr]
    assert rec.refresh() == []
    assert rec.served() == {"control": f"{MODEL}:v1"}


@pytest.mark.parametrize("arm_model", ["champion", "popularity"])
def test_a_batch_gives_each_user_what_asking_alone_gives(tmp_path: Path, arm_model: str) -> None:
    """Random seen histories (served and shown, overlapping, some users repeated in the batch): one batch
    request and the same users one at a time get the same feeds, and leave the same seen items."""
    register(tmp_path, ranked_model(30, 300))
    rng = np.random.default_rng(5)
    experiment = ExperimentConfig(name="e", arms=(ArmConfig(name="control", model=arm_model),))
    recs = [Recommender.from_config(serving(tmp_path, experiment=experiment, seen_per_user=40)) for _ in range(2)]
    for rec in recs:
        rec.popularity.seed(np.arange(300), np.arange(300, 0, -1).astype(float), at_s=1.0)
    for user in range(30):
        shown = rng.integers(0, 60, size=rng.integers(0, 80)).tolist()
        for rec in recs:
            rec.seen.add(user, shown[: len(shown) // 2])
            rec.observe(impressions(user, shown[len(shown) // 2 :]))
    users = [*range(30), 3, 3]
    batch = recs[0].recommend(users, k=5)
    alone = [recs[1].recommend([u], k=5)[0] for u in users]
    # a user repeated in the batch gets what asking again gets: the next slate, past what was just served
    assert [ids(s) for s in batch] == [ids(s) for s in alone]
    assert all(not s.fallback for s in batch)
    assert not set(ids(batch[3])) & set(ids(batch[30])) and not set(ids(batch[30])) & set(ids(batch[31]))
    assert all(recs[0].seen.get(u) == recs[1].seen.get(u) for u in range(30))


def test_popularity_feeds_explore_the_newest_items(tmp_path: Path) -> None:
    """The last slots of a popularity feed are unseen items drawn among the newest, not the head."""
    rec = Recommender.from_config(serving(tmp_path, explore_slots=2, explore_pool=20))
    rec.popularity.seed(list(range(100)), [float(100 - i) for i in range(100)], at_s=1.0)  # 0 is the most popular
    slates = rec.recommend(list(range(200)), k=6)
    newest = set(range(80, 100))
    explored: set[int] = set()
    for slate in slates:
        assert slate.item_ids[:4] == [0, 1, 2, 3] and slate.fallback
        assert set(slate.item_ids[4:]) <= newest and len(set(slate.item_ids)) == 6
        assert slate.scores[4:] == [0.0, 0.0]
        explored |= set(slate.item_ids[4:])
    assert len(explored) > 10, "the explored items vary from user to user"
    again = rec.recommend([0], k=6)[0]
    assert not set(again.item_ids) & set(slates[0].item_ids), "seen items are left out, explored ones too"


def test_model_feeds_explore_the_newest_items_too(tmp_path: Path) -> None:
    """A model arm ranks its head; its last slots are unseen newest items, or its own next items when none is left."""
    register(tmp_path, ranked_model(10, 50))
    rec = Recommender.from_config(serving(tmp_path, explore_slots=2, explore_pool=5))
    rec.popularity.add_items(np.arange(100, 105))  # the five newest items (the model ranks 0..49 only)
    [slate] = rec.recommend([3], k=5)
    assert slate.item_ids[:3] == [0, 1, 2] and not slate.fallback
    assert set(slate.item_ids[3:]) <= set(range(100, 105)) and slate.scores[3:] == [0.0, 0.0]
    rec.observe(impressions(3, list(range(100, 105))))  # the user has now seen every new item
    [filled] = rec.recommend([3], k=5)
    assert filled.item_ids == [3, 4, 5, 6, 7], "with nothing new left to draw, the model's next items fill the feed"


def test_a_user_named_twice_in_a_batch_never_gets_the_same_item_twice(tmp_path: Path) -> None:
    """Two requests of one user batched together: the second slate excludes the first."""
    rec = Recommender.from_config(serving(tmp_path))
    rec.popularity.seed(list(range(30)), [float(30 - i) for i in range(30)], at_s=1.0)
    slates = rec.recommend([5, 6, 5, 5], k=5)
    assert [s.user_id for s in slates] == [5, 6, 5, 5]
    for_five = [item for s in slates if s.user_id == 5 for item in s.item_ids]
    assert len(for_five) == 15 and len(set(for_five)) == 15
    assert slates[1].item_ids == slates[0].item_ids  # another user is ranked as the first
