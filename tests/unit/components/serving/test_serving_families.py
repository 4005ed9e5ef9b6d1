"""Serving a collaborative family: a switch of family at promotion, and new items ranked by content."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from components.serving.config import ServingConfig
from components.serving.recommender import Recommender
from components.train.artifact import ModelArtifact
from components.train.blend import blend, fit_ease_factors
from components.train.config import TrainConfig
from components.train.trainer import train
from tests.unit.components.serving.toys import MODEL, register
from tests.unit.components.train.synthetic import World, make_world

TINY = TrainConfig(dim=8, hidden=16, epochs=4, batch_size=128, lr=1e-2, temperature=0.1, seed=0)


@pytest.fixture(scope="module")
def cold_world() -> World:
    """A planted-topic world whose last 40 items appear after training (they never occur in it)."""
    world = make_world(n_items=160, seed=3)
    held = world.items["item_id"].to_numpy()[-40:]
    world.interactions = world.interactions[~world.interactions["item_id"].isin(held)].reset_index(drop=True)
    return world


@pytest.fixture(scope="module")
def families(cold_world: World) -> tuple[ModelArtifact, ModelArtifact]:
    """The two-tower trained on the world's old items, and EASE blended with it (a collaborative champion)."""
    seen = cold_world.items[cold_world.items["item_id"].isin(cold_world.interactions["item_id"])]
    tt = train(cold_world.interactions, seen, None, TINY)
    factors = fit_ease_factors(cold_world.interactions, tt.user_ids, tt.item_ids, lam=50.0, max_items=60, rank=16)
    return tt, blend(tt, factors, weight=0.0)


def _serving(tmp_path: Path) -> ServingConfig:
    return ServingConfig.model_validate(
        {"registry_root": str(tmp_path / "registry"), "reload_interval_s": 0, "explore_slots": 0, "seen_per_user": 0}
    )


def test_a_family_switch_at_promotion_drops_no_request(
    tmp_path: Path, families: tuple[ModelArtifact, ModelArtifact]
) -> None:
    """Two-tower -> EASE (another vector width) while two threads ask: every request gets a full model slate."""
    two_tower, ease = families
    register(tmp_path, two_tower)
    rec = Recommender.from_config(_serving(tmp_path))
    users = two_tower.user_ids[:20].tolist()
    versions: set[str] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            try:
                for slate in rec.recommend(users, k=10):
                    assert len(slate.item_ids) == 10 and not slate.fallback
                    versions.add(slate.model_version)
            except BaseException as error:  # noqa: BLE001 (collected and asserted below)
                errors.append(error)
                return

    workers = [threading.Thread(target=traffic) for _ in range(2)]
    for worker in workers:
        worker.start()
    register(tmp_path, ease)
    assert rec.refresh() == ["champion"]
    register(tmp_path, two_tower)  # and back again
    assert rec.refresh() == ["champion"]
    stop.set()
    for worker in workers:
        worker.join()
    assert not errors
    assert f"{MODEL}:v1" in versions and rec.served() == {"control": f"{MODEL}:v3"}


def test_new_items_are_ranked_by_content_under_a_collaborative_champion(
    tmp_path: Path, cold_world: World, families: tuple[ModelArtifact, ModelArtifact]
) -> None:
    """Items created after training enter the EASE champion's index and reach the users of their topic."""
    _, ease = families
    register(tmp_path, ease)
    rec = Recommender.from_config(_serving(tmp_path))
    model = rec.models.get("champion")
    assert model is not None and model.artifact.metadata["family"] == "ease"
    new = cold_world.items.iloc[-40:]
    rec.models.embed_new(new)
    model = rec.models.get("champion")
    assert model is not None and set(new["item_id"]) <= set(model.index.ids)
    users = ease.user_ids
    old = np.setdiff1d(model.index.ids, new["item_id"].to_numpy())
    exclude = np.tile(model.index.positions(old), (len(users), 1))
    best, _ = model.index.top_k(ease.user_embeddings(users), 1, exclude)
    hits = [cold_world.item_topic[int(i[0])] == cold_world.user_topic[int(u)] for u, i in zip(users, best, strict=True)]
    assert np.mean(hits) > 0.8  # chance: 0.25 (four topics)
