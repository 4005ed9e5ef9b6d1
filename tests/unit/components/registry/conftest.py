"""Builders shared by the registry tests: a tiny saved model and an evaluation report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.train.artifact import ModelArtifact, save_model

MakeModel = Callable[..., Path]
MakeEvaluation = Callable[..., Path]


@pytest.fixture
def make_model(tmp_path: Path) -> MakeModel:
    """``make_model(name, version=..., lineage=...)``: a saved 4-item artifact with training's metadata keys."""

    def build(name: str = "model", version: str = "v-a", lineage: dict[str, Any] | None = None) -> Path:
        metadata: dict[str, Any] = {
            "version": version,
            "data_window": {"min_ts": "2026-01-01", "max_ts": "2026-01-07"},
            "features": {"user": ["user_id"], "item": ["item_id", "text_vec"]},
            "code_version": "abc123",
        }
        if lineage is not None:
            metadata["lineage"] = lineage
        artifact = ModelArtifact(item_ids=np.arange(4), item_embeddings=np.eye(4, dtype=np.float32), metadata=metadata)
        save_model(artifact, tmp_path / name)
        return tmp_path / name

    return build


@pytest.fixture
def make_evaluation(tmp_path: Path) -> MakeEvaluation:
    """``make_evaluation(promote)``: an evaluation report (JSON file) whose decision is ``promote``."""

    def build(promote: bool, reason: str | None = None) -> Path:
        path = tmp_path / f"evaluation-{promote}-{len(list(tmp_path.glob('evaluation-*')))}.json"
        report = {
            "model": {"ndcg_at_k": 0.3, "recall_at_k": 0.4},
            "popularity": {"ndcg_at_k": 0.1, "recall_at_k": 0.2},
            "protocol": {"k": 10},
            "promotion": {
                "promote": promote,
                "reason": reason or ("promoted" if promote else "not promoted: ndcg_vs_champion: 0.3000 < 0.3060"),
            },
        }
        path.write_text(json.dumps(report), encoding="utf-8")
        return path

    return build
