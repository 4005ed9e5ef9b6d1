"""Fixtures for the training tests: a small planted-topic world and one model trained on it."""

from __future__ import annotations

import pytest

from components.train.artifact import ModelArtifact
from components.train.config import TrainConfig
from components.train.trainer import train
from tests.unit.components.train.synthetic import World, make_world

TINY = TrainConfig(
    dim=16, hidden=32, epochs=6, batch_size=128, lr=1e-2, temperature=0.1, use_user_features=True, seed=0
)
"""A model small enough to train in a couple of seconds on the synthetic world."""


@pytest.fixture(scope="session")
def world() -> World:
    """200 users, 120 items over 4 topics; items 1..N in interactions, content for all."""
    return make_world()


@pytest.fixture(scope="session")
def cold_world() -> World:
    """A world whose last 40 items never appear in interactions (held out for cold start)."""
    w = make_world(n_items=160, seed=1)
    held = set(w.items["item_id"].tolist()[-40:])
    w.interactions = w.interactions[~w.interactions["item_id"].isin(held)].reset_index(drop=True)
    return w


@pytest.fixture(scope="session")
def trained(world: World) -> ModelArtifact:
    """The tiny model trained on ``world`` with item and user features."""
    return train(world.interactions, world.items, world.users, TINY)
