"""Synthetic interactions with a planted topic structure the two-tower model must recover.

Each item belongs to one of ``topics`` topics; its content encodes the topic: the text
vector has weight on the topic's own four dimensions (plus noise) and the image's mean
colour is the topic's colour (plus noise). Each creator posts one topic. Each user likes one
topic: clicks (label 1) are on items of that topic, impressions not clicked (label 0) are
random items. Nothing but the interactions and the content ties users to topics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TEXT_DIM = 32
IMAGE_COLUMNS = ("img_mean_r", "img_mean_g", "img_mean_b", "img_std_r", "img_std_g", "img_std_b", "img_texture")


@dataclass
class World:
    """The tables plus the hidden truth (topics of users and items)."""

    interactions: pd.DataFrame
    items: pd.DataFrame  # item_features-shaped, one row per item
    users: pd.DataFrame  # user_features-shaped
    item_topic: dict[int, int]
    user_topic: dict[int, int]


def item_content(item_ids: np.ndarray, topics: np.ndarray, n_topics: int, rng: np.random.Generator) -> pd.DataFrame:
    """item_features rows whose text vector and image colour encode ``topics`` (with noise)."""
    text = rng.normal(0.0, 0.15, size=(len(item_ids), TEXT_DIM))
    for i, t in enumerate(topics):
        dims = (4 * t + np.arange(4)) % TEXT_DIM
        text[i, dims] += 1.0
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    palette = rng.uniform(0.1, 0.9, size=(n_topics, 3))
    colour = palette[topics] + rng.normal(0.0, 0.03, size=(len(item_ids), 3))
    frame = pd.DataFrame({"item_id": item_ids.astype(np.int64), "creator_id": (1000 + topics).astype(np.int64)})
    frame["text_vec"] = list(text.astype(np.float32))
    for j, name in enumerate(IMAGE_COLUMNS[:3]):
        frame[name] = colour[:, j]
    for name in IMAGE_COLUMNS[3:]:
        frame[name] = rng.uniform(0.05, 0.2, size=len(item_ids))
    return frame


def make_world(
    n_users: int = 200,
    n_items: int = 120,
    n_topics: int = 4,
    clicks_per_user: int = 12,
    negatives_per_user: int = 12,
    seed: int = 0,
) -> World:
    """A small world: ``n_users`` users each with one favourite topic, ``n_items`` items."""
    rng = np.random.default_rng(seed)
    item_ids = np.arange(1, n_items + 1, dtype=np.int64) * 7
    item_topics = np.arange(n_items) % n_topics
    user_ids = np.arange(1, n_users + 1, dtype=np.int64) * 3
    user_topics = rng.integers(0, n_topics, size=n_users)
    rows = []
    start = pd.Timestamp("2025-01-01", tz="UTC")
    for u, t in zip(user_ids, user_topics, strict=True):
        liked = item_ids[item_topics == t]
        for item in rng.choice(liked, size=clicks_per_user):
            rows.append((u, item, 1))
        for item in rng.choice(item_ids, size=negatives_per_user):
            rows.append((u, item, 0))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "label"])
    frame["ts"] = start + pd.to_timedelta(rng.uniform(0, 3 * 86400, size=len(frame)), unit="s")
    frame["weight"] = 1.0
    items = item_content(item_ids, item_topics, n_topics, rng)
    users = pd.DataFrame({"user_id": user_ids, "ctr_7d": rng.uniform(0, 0.2, n_users)})
    return World(
        interactions=frame.sample(frac=1.0, random_state=seed).reset_index(drop=True),
        items=items,
        users=users,
        item_topic=dict(zip(item_ids.tolist(), item_topics.tolist(), strict=True)),
        user_topic=dict(zip(user_ids.tolist(), user_topics.tolist(), strict=True)),
    )
