"""The model's behaviour: it learns (loss falls), it finds the planted topics, cold start works."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.train.artifact import ModelArtifact
from components.train.trainer import train
from tests.unit.components.train.conftest import TINY
from tests.unit.components.train.synthetic import World


def test_loss_decreases(trained: ModelArtifact) -> None:
    """Training loss of the last epoch is clearly below the first."""
    losses = trained.metadata["train"]["loss_per_epoch"]
    assert len(losses) == TINY.epochs
    assert losses[-1] < 0.8 * losses[0]


def test_single_topic_user_gets_topic_first(trained: ModelArtifact, world: World) -> None:
    """A user whose clicks are all on one topic gets items of that topic at the top of the ranking."""
    users = np.array(list(world.user_topic))
    scores = trained.score(users)
    top = trained.item_ids[np.argsort(-scores, axis=1)[:, :5]]
    hit = np.array(
        [[world.item_topic[i] == world.user_topic[u] for i in row] for u, row in zip(users, top, strict=True)]
    )
    assert hit[:, 0].mean() > 0.95
    assert hit.mean() > 0.9


def test_cold_items_rank_above_random_for_matching_users(cold_world: World) -> None:
    """Items never seen in training, embedded from content alone, rank above random for users of their topic."""
    artifact = train(cold_world.interactions, cold_world.items.iloc[:120], cold_world.users, TINY)
    held = cold_world.items.iloc[120:].drop(columns=["creator_id"])  # content only, no creator
    assert not artifact.has_items(held["item_id"]).any()
    vectors = artifact.embed_items(held)
    users = np.array(list(cold_world.user_topic))
    scores = artifact.user_embeddings(users) @ vectors.T
    match = np.array([[cold_world.item_topic[i] == cold_world.user_topic[u] for i in held["item_id"]] for u in users])
    # AUC of "same topic" by score over (user, held-out item) pairs: 0.5 is random
    ranks = pd.DataFrame(scores).rank(axis=1).to_numpy()
    n_pos, n_neg = match.sum(axis=1), (~match).sum(axis=1)
    auc = ((ranks * match).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert auc.mean() > 0.8


def test_cold_users_get_the_cold_embedding(trained: ModelArtifact) -> None:
    """Unknown users are no error: they all get the one cold-user embedding."""
    emb = trained.user_embeddings(np.array([-1, 10**12]))
    assert emb.shape == (2, trained.dim)
    np.testing.assert_array_equal(emb[0], trained.cold_user)
    np.testing.assert_array_equal(emb[1], trained.cold_user)
    assert not trained.has_users([-1]).any()


def test_score_is_the_dot_product(trained: ModelArtifact, world: World) -> None:
    """score() of some items equals the dot product of user and item embeddings, in the order asked."""
    users = np.array(list(world.user_topic)[:3])
    items = trained.item_ids[[5, 0, 7]]
    expected = trained.user_embeddings(users) @ trained.item_vectors(items).T
    np.testing.assert_allclose(trained.score(users, items), expected, rtol=1e-6)
    assert trained.score(users).shape == (3, len(trained.item_ids))


def test_same_seed_same_model(world: World) -> None:
    """Training is deterministic on CPU: the same seed and data give identical embeddings."""
    small = TINY.model_copy(update={"epochs": 1})
    a = train(world.interactions, world.items, None, small)
    b = train(world.interactions, world.items, None, small)
    np.testing.assert_array_equal(a.item_embeddings, b.item_embeddings)
    np.testing.assert_array_equal(a.user_vectors, b.user_vectors)


def test_trains_on_bare_interactions() -> None:
    """Any table with user_id, item_id, ts trains: no label (all positives), no weight, no features."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 30, 300), "item_id": rng.integers(0, 20, 300), "ts": np.arange(300)}
    )
    artifact = train(frame, None, None, TINY.model_copy(update={"epochs": 1}))
    assert artifact.metadata["rows"]["positives"] == 300
    assert artifact.metadata["features"] == {"user": ["user_id"], "item": ["item_id"]}
    assert artifact.embed_items(pd.DataFrame({"item_id": [1]})).shape == (1, artifact.dim)
