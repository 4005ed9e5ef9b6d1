"""Toy tables and models for evaluation tests: small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.train.artifact import ModelArtifact


def interactions(rows: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    """A table from (user_id, item_id, ts, label) tuples, with weight 1."""
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "ts", "label"])
    return frame.assign(weight=1.0).astype({"user_id": "int64", "item_id": "int64", "label": "int32"})


def oracle(test: pd.DataFrame, n_items: int, n_users: int) -> ModelArtifact:
    """A model that knows the answers: user u's vector is the indicator of its TEST positives.

    Items are the identity basis, so a user's score is 1 on each test positive and 0 elsewhere;
    with |relevant| <= K every metric is exactly 1.
    """
    users = np.zeros((n_users, n_items), dtype=np.float32)
    positives = test[test["label"] == 1]
    users[positives["user_id"].to_numpy(), positives["item_id"].to_numpy()] = 1.0
    return ModelArtifact(
        item_ids=np.arange(n_items),
        item_embeddings=np.eye(n_items, dtype=np.float32),
        metadata={"version": "oracle"},
        user_ids=np.arange(n_users),
        user_vectors=users,
    )


def memoriser(train: pd.DataFrame, test: pd.DataFrame, n_items: int, n_users: int) -> ModelArtifact:
    """Scores each user's TRAIN positives 2 and TEST positives 1: top-1 is a train item unless excluded."""
    users = np.zeros((n_users, n_items), dtype=np.float32)
    positives = test[test["label"] == 1]
    users[positives["user_id"].to_numpy(), positives["item_id"].to_numpy()] = 1.0
    known = train[train["label"] == 1]
    users[known["user_id"].to_numpy(), known["item_id"].to_numpy()] = 2.0
    return ModelArtifact(
        item_ids=np.arange(n_items),
        item_embeddings=np.eye(n_items, dtype=np.float32),
        metadata={"version": "memoriser"},
        user_ids=np.arange(n_users),
        user_vectors=users,
    )


def random_model(n_users: int, n_items: int, dim: int = 8, seed: int = 0) -> ModelArtifact:
    """Random embeddings for users 0..n_users-1 and items 0..n_items-1."""
    rng = np.random.default_rng(seed)
    return ModelArtifact(
        item_ids=np.arange(n_items),
        item_embeddings=rng.normal(size=(n_items, dim)).astype(np.float32),
        metadata={"version": f"random-{seed}"},
        user_ids=np.arange(n_users),
        user_vectors=rng.normal(size=(n_users, dim)).astype(np.float32),
    )


def random_tables(n_users: int, n_items: int, rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random train and test tables over the same users and items (labels 30% positive)."""
    rng = np.random.default_rng(seed)

    def table() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "user_id": rng.integers(0, n_users, rows),
                "item_id": rng.integers(0, n_items, rows),
                "ts": rng.integers(0, 1000, rows),
                "label": (rng.random(rows) < 0.3).astype(np.int32),
            }
        )

    return table(), table()
