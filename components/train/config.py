"""Hyper-parameters of one training run: a small validated pydantic model (loadable from YAML)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field


class TrainConfig(BaseModel):
    """The two-tower model and its training loop. Defaults suit SimNet at 5k-100k users on 2 CPU cores."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # embedding width; 32 separates SimNet's topics, and serving scores 100k items x 32 in about 1 ms
    dim: int = Field(32, ge=2, le=1024)
    # width of the content encoders' hidden layer (text, image, user features): small, the inputs are 7-40 dims
    hidden: int = Field(64, ge=4, le=4096)
    # softmax temperature on cosine similarity: 0.05-0.1 is the usual range; 0.05 measured best on SimNet
    temperature: float = Field(0.05, gt=0.0, le=10.0)
    # Adam learning rate; embeddings and small MLPs tolerate a high rate
    lr: float = Field(3e-3, gt=0.0, le=1.0)
    # L2 on all weights (AdamW); a little keeps the rare items' id vectors from overfitting
    weight_decay: float = Field(1e-5, ge=0.0)
    # passes over the positives; 3 measured best on SimNet (recall falls again from 5: id vectors overfit)
    epochs: int = Field(3, ge=1, le=1000)
    # global batch of positives per step, split across ranks; also the number of in-batch negatives (per rank)
    batch_size: int = Field(1024, ge=2)
    # shown-but-not-clicked impressions of the same user added to each positive as extra negatives
    hard_negatives: int = Field(2, ge=0, le=64)
    # subtract log(sampling probability) from in-batch logits so popular items are not over-penalised
    logq_correction: bool = True
    # fraction of items whose id embedding is zeroed per batch, so the content path learns to stand alone
    item_id_dropout: float = Field(0.3, ge=0.0, le=1.0)
    # fraction of items whose creator is hidden, so items of new creators still embed well
    creator_dropout: float = Field(0.1, ge=0.0, le=1.0)
    # fraction of users replaced by the cold-user id, so the cold vector is trained rather than random
    user_id_dropout: float = Field(0.05, ge=0.0, le=1.0)
    # use the user_features table when given (content profile, rates); off by default: on SimNet it pulls
    # users together towards popular items (Recall@10 0.205 vs 0.220, coverage 0.06 vs 0.20; docs/training.md)
    use_user_features: bool = False
    # use the item_features table's content (text vector, image statistics) and creator when given
    use_item_content: bool = True
    # torch threads per process on CPU; None: the node's cores shared out among its processes. 1 by
    # default: the model is small, so scale out with processes (--nproc); on the shared 2-core host
    # one process ran 26x slower with 2 threads than with 1 (benchmarks/train.py, docs/training.md)
    cpu_threads: int | None = Field(1, ge=1, le=1024)
    # seeds weights, shuffling and dropout: the same seed on the same data gives the same model on CPU
    seed: int = 0

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        """Load a config from a YAML mapping of field names to values (unknown keys are errors)."""
        with open(path, encoding="utf-8") as f:
            return cls.model_validate(yaml.safe_load(f) or {})
