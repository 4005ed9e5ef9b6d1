"""Toy models, registries and events for serving tests: small enough to reason about by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from components.etl.tables import TEXT_DIM
from components.registry.registry import Registry
from components.train.artifact import ModelArtifact, save_model
from simnet.protocol import EVENT_SCHEMA, IMAGE_SIZE

MODEL = "recommender"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class TextEncoder:
    """A content encoder that embeds an item as its text vector's first ``dim`` values, plus a 0 bias."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def encode(self, content: pd.DataFrame) -> npt.NDArray[np.float32]:
        from components.train.content import text_matrix

        text = text_matrix(content)[:, : self.dim]
        return np.concatenate([text, np.zeros((len(content), 1), np.float32)], axis=1)

    def state(self) -> dict[str, Any]:
        return {"dim": self.dim}


def ranked_model(n_users: int, n_items: int, version: str = "toy", encoder: bool = False) -> ModelArtifact:
    """Every user prefers items in id order (item i scores n_items - i), so top-k is 0..k-1."""
    items = np.zeros((n_items, 2), np.float32)
    items[:, 0] = np.arange(n_items, 0, -1, dtype=np.float32)
    users = np.tile(np.array([[1.0, 0.0]], np.float32), (n_users, 1))
    return ModelArtifact(
        item_ids=np.arange(n_items),
        item_embeddings=items,
        metadata={"version": version},
        user_ids=np.arange(n_users),
        user_vectors=users,
        item_encoder=TextEncoder(1) if encoder else None,
    )


def register(root: Path, artifact: ModelArtifact, alias: str = "champion") -> int:
    """Save ``artifact``, register it under MODEL and point ``alias`` at it; returns the version."""
    folder = root / "artifacts" / uuid.uuid4().hex
    save_model(artifact, folder)
    registry = Registry(root / "registry")
    version = registry.register(folder, MODEL).version
    registry.set_alias(MODEL, alias, version)
    return version


def events(rows: list[dict[str, Any]]) -> pa.Table:
    """Columnar events from partial rows (event_id, ts, position... filled in)."""
    full = []
    for i, row in enumerate(rows):
        base: dict[str, Any] = {"event_id": f"t{i}-{row.get('item_id')}", "ts": T0, "position": None}
        full.append({**base, **row})
    return pa.Table.from_pylist(full, schema=EVENT_SCHEMA)


def impressions(user_id: int, item_ids: list[int]) -> pa.Table:
    return events([{"user_id": user_id, "type": "impression", "item_id": i} for i in item_ids])


def created(item_id: int, creator: int, text: str) -> pa.Table:
    return events([{"user_id": creator, "type": "create", "item_id": item_id, "text": text, "image": [0] * IMAGE_SIZE}])


def profile(value: float) -> npt.NDArray[np.float32]:
    vec = np.zeros(TEXT_DIM, np.float32)
    vec[0] = value
    return vec
