"""A torchrun stand-in for tests: run :func:`components.train.trainer.train` on N local gloo ranks.

Each spawned process gets the variables torchrun would set (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT) and runs the one training code path,
then writes what it ended with to ``<out>/rank<r>.pt``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp

from components.train.config import TrainConfig


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, out: str, config_json: str) -> None:
    os.environ.update(
        {
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    from components.train.trainer import train
    from tests.unit.components.train.synthetic import make_world

    w = make_world()
    artifact = train(w.interactions, w.items, w.users, TrainConfig.model_validate_json(config_json))
    assert artifact.item_encoder is not None
    torch.save(
        {
            "item_embeddings": torch.from_numpy(artifact.item_embeddings),
            "user_vectors": torch.from_numpy(artifact.user_vectors),
            "encoder": artifact.item_encoder.state(),
            "losses": artifact.metadata["train"]["loss_per_epoch"],
            "world_size": artifact.metadata["train"]["world_size"],
        },
        Path(out) / f"rank{rank}.pt",
    )


def run_ranks(world: int, out: Path, config: TrainConfig) -> list[dict[str, Any]]:
    """Train on ``world`` spawned gloo ranks; returns each rank's result, in rank order."""
    mp.spawn(_worker, args=(world, free_port(), str(out), config.model_dump_json()), nprocs=world, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(world)]
