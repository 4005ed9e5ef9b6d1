"""The training step: interactions (and content tables) in, a model artifact with its card out.

``run(TrainParams(...), StepIO(...))`` trains in this process or, with ``nproc > 1``, launches
``torchrun`` on :mod:`components.train.run` (gloo on CPU, nccl on GPU); then it writes the model
card with the lineage chain handed in ``params.upstream``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from components.step import Lineage, StepIO, timed
from components.train.card import CARD_FILE, write_card
from components.train.config import TrainConfig


class TrainParams(BaseModel):
    """The tables to train on, where the model goes, the hyper-parameters and the processes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interactions: str  # Parquet (file, folder or URL): user_id, item_id, ts[, label, weight]
    out: str  # the model folder (or URL) to write
    items: str | None = None  # item_features: content and creator, so new items embed from content
    users: str | None = None  # user_features: content profile and rates (used if config says so)
    config: TrainConfig = Field(default_factory=TrainConfig)  # the model and its training loop
    nproc: int = Field(1, ge=1, le=64)  # processes; above 1 runs torchrun (DDP)
    upstream: list[Lineage] = []  # the lineage of the inputs (ETL, split), carried into the card


class TrainResult(BaseModel):
    """Where the model is, its version and the headline facts of the run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str  # the model folder
    version: str  # the artifact's version string
    card: str  # card.md beside it
    summary: dict[str, Any]  # loss, speed, rows, features, data window (components.train.run.summary)
    lineage: Lineage


def run(params: TrainParams, io: StepIO) -> TrainResult:
    """Train and save the model with its card; TrainingDataError for bad input, RuntimeError if torchrun fails."""
    from components.train.run import run_training

    out = io.root(params.out)
    inputs = {"interactions": str(io.root(params.interactions))}
    if params.items:
        inputs["items"] = str(io.root(params.items))
    if params.users:
        inputs["users"] = str(io.root(params.users))
    with timed() as elapsed:
        io.progress("training", 0.0)
        summary = run_training(
            inputs["interactions"],
            out.url,
            inputs.get("items"),
            inputs.get("users"),
            params.config,
            nproc=params.nproc,
            storage=io.storage,
        )
        lineage = Lineage(
            step="train",
            inputs=inputs,
            outputs={"model": out.url},
            params=params.model_dump(mode="json", exclude={"upstream"}),
            seconds=elapsed(),
            upstream=params.upstream,
        )
        write_card(out, lineage)
        io.progress("done", 1.0)
    return TrainResult(
        model=out.url, version=str(summary["version"]), card=out.join(CARD_FILE).url, summary=summary, lineage=lineage
    )
