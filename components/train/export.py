"""Reduce a trained :class:`TwoTower` to a :class:`ModelArtifact`: embeddings, encoder, metadata."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from components.step import code_version
from components.train.artifact import ModelArtifact
from components.train.config import TrainConfig
from components.train.data import TrainingData
from components.train.encoder import ContentEncoder
from components.train.model import TwoTower

logger = logging.getLogger(__name__)

_CHUNK = 65536
SCORE_DOC = "dot(user, item) = cos(u, v) / temperature + item_bias; item = [v/|v|, bias], user = [u/|u|/T, 1]"


@torch.no_grad()
def _item_embeddings(model: TwoTower, data: TrainingData, device: torch.device) -> npt.NDArray[np.float32]:
    positions = np.arange(len(data.item_ids), dtype=np.int64)
    out = []
    for start in range(0, len(positions), _CHUNK):
        pos = positions[start : start + _CHUNK]
        vec, bias = model.items(
            torch.from_numpy(data.id_rows(pos)).to(device),
            torch.from_numpy(data.item_creator[pos]).to(device),
            torch.from_numpy(data.item_text[pos]).to(device),
            torch.from_numpy(data.item_image[pos]).to(device),
        )
        out.append(torch.cat([vec, bias[:, None]], dim=1).cpu())
    return torch.cat(out).numpy().astype(np.float32)


@torch.no_grad()
def _user_embeddings(model: TwoTower, data: TrainingData, device: torch.device) -> npt.NDArray[np.float32]:
    """Rows 0 (cold user) .. n_users, as ``[u / |u| / T, 1]``."""
    rows = np.arange(data.n_users + 1, dtype=np.int64)
    out = []
    for start in range(0, len(rows), _CHUNK):
        r = rows[start : start + _CHUNK]
        u = model.users(torch.from_numpy(r).to(device), torch.from_numpy(data.user_features[r]).to(device))
        out.append(torch.cat([u / model.temperature, torch.ones(len(r), 1, device=device)], dim=1).cpu())
    return torch.cat(out).numpy().astype(np.float32)


def export_artifact(model: TwoTower, data: TrainingData, config: TrainConfig, stats: dict[str, Any]) -> ModelArtifact:
    """The artifact of a trained model, with metadata describing data, features, params and run."""
    model.eval()
    device = next(model.parameters()).device
    items = _item_embeddings(model, data, device)
    users = _user_embeddings(model, data, device)
    created = datetime.now(UTC)
    params = config.model_dump()
    digest = hashlib.sha1(
        json.dumps({"params": params, "window": data.window, "rows": data.rows}, sort_keys=True).encode()
    ).hexdigest()[:8]
    metadata: dict[str, Any] = {
        "version": f"{created:%Y%m%dT%H%M%SZ}-{digest}",
        "created_at": created.isoformat(),
        "model": "two_tower",
        "family": "two-tower",
        "data_window": data.window,
        "rows": data.rows,
        "features": {"user": ["user_id", *data.user_feature_names], "item": ["item_id", *data.item_feature_names]},
        "params": params,
        "code_version": code_version(),
        "embedding": {"dim": items.shape[1], "normalised": False, "score": SCORE_DOC},
        "cold_user": "user tower of the learned cold-user id (trained by user-id dropout) with average features",
        "train": stats,
        "metrics": {},
    }
    encoder = ContentEncoder.from_tower(
        model.items, data.creator_ids, data.image_scaler, use_content=bool(data.item_feature_names)
    )
    return ModelArtifact(
        item_ids=data.item_ids,
        item_embeddings=items,
        metadata=metadata,
        user_ids=data.user_ids,
        user_vectors=users[1:],
        cold_user=users[0],
        item_encoder=encoder,
    )
