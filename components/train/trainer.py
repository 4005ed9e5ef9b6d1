"""Training: one code path for a single process and for ``torchrun --nproc_per_node N``.

As in nanoGPT, the process decides by torchrun's variables (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``): with ``WORLD_SIZE > 1`` it joins the process group
(``env://`` rendezvous; nccl on CUDA, gloo on CPU; :func:`process_group`), wraps the model in
DistributedDataParallel and reads its share of positives through a DistributedSampler.
The configured batch is global: each rank takes ``batch_size / world_size`` positives per
step, so one and N processes take the same number of optimiser steps per epoch. Only rank 0
logs and shows progress; every rank returns the same artifact and the caller on rank 0 saves it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from components.train import data as tables
from components.train.artifact import ModelArtifact
from components.train.config import TrainConfig
from components.train.export import export_artifact
from components.train.model import TwoTower

logger = logging.getLogger(__name__)

Validator = Callable[[ModelArtifact], float]
"""The model after an epoch -> its validation score (higher is better), for early stopping."""


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits in a torchrun job (a single process is rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @classmethod
    def from_torchrun(cls) -> DistEnv:
        """Read torchrun's rendezvous variables (absent: a single process)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(
            rank=int(os.environ.get("RANK", "0")),
            world_size=world,
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
            local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", str(world))),
        )

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class _Rows(Dataset[int]):
    """The positives' row numbers, so DistributedSampler can shard and shuffle them."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:
        return index


def _device(env: DistEnv, threads: int | None) -> torch.device:
    """This rank's device (its GPU, else the CPU with its share of threads)."""
    cuda = torch.cuda.is_available()
    gpus = torch.cuda.device_count() if cuda else 0
    device = torch.device(f"cuda:{env.local_rank % gpus}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // max(env.local_world_size, 1)))
    return device


@contextmanager
def process_group(env: DistEnv | None = None) -> Iterator[None]:
    """Be in torchrun's process group for the block: join it if not yet joined, and leave it after if joined here.

    A rank holds it around everything it trains: :func:`components.train.families.fit_model`
    trains several times, and leaving and joining again in one process can hang the ``env://``
    rendezvous. A single process (``WORLD_SIZE`` 1) joins nothing.
    """
    env = env or DistEnv.from_torchrun()
    if env.world_size <= 1 or dist.is_initialized():
        yield
        return
    cuda = torch.cuda.is_available()
    # nccl needs one GPU per rank; more ranks than GPUs on a node share them through gloo
    backend = "nccl" if cuda and torch.cuda.device_count() >= env.local_world_size else "gloo"
    dist.init_process_group(backend=backend, init_method="env://")
    try:
        yield
    finally:
        dist.destroy_process_group()


class _Batcher:
    """Builds the tensors of one batch: lookups, hard negatives and id/creator/user dropout."""

    def __init__(self, data: tables.TrainingData, config: TrainConfig, device: torch.device, rank: int) -> None:
        self.data, self.config, self.device = data, config, device
        self.rng = np.random.default_rng([config.seed, rank])
        self.k = config.hard_negatives if len(data.neg_item) else 0
        self.item_dropout = config.item_id_dropout if data.item_feature_names else 0.0

    def _t(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def _drop(self, rows: np.ndarray, p: float) -> np.ndarray:
        return np.where(self.rng.random(rows.shape) < p, 0, rows) if p > 0 else rows

    def _items(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        d = self.data
        return (
            self._drop(d.id_rows(pos), self.item_dropout),
            self._drop(d.item_creator[pos], self.config.creator_dropout),
            d.item_text[pos],
            d.item_image[pos],
        )

    def __call__(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        d = self.data
        item_pos = d.pos_item[rows]
        hard, mask = d.sample_hard(rows, self.k, self.rng)
        item_row, creator_row, text, image = self._items(item_pos)
        hard_row, hard_creator, hard_text, hard_image = self._items(hard.reshape(-1))
        user_row = d.pos_user[rows]
        arrays = {
            "user_row": self._drop(user_row, self.config.user_id_dropout),
            "user_features": d.user_features[user_row],
            "item_pos": item_pos,
            "item_row": item_row,
            "creator_row": creator_row,
            "text": text,
            "image": image,
            "log_q": d.log_q[item_pos],
            "weight": d.pos_weight[rows],
            "hard_row": hard_row,
            "hard_creator": hard_creator,
            "hard_text": hard_text,
            "hard_image": hard_image,
            "hard_log_q": d.log_q_hard[hard],
            "hard_mask": mask,
        }
        return {name: self._t(value) for name, value in arrays.items()}


class _EarlyStop:
    """Scores the model after each epoch and keeps the best epoch's artifact."""

    def __init__(self, validate: Validator | None, patience: int) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1 epoch, got {patience}")
        self.validate, self.patience = validate, patience
        self.scores: list[float] = []
        self.best: ModelArtifact | None = None
        self.best_epoch = 0

    @property
    def active(self) -> bool:
        return self.validate is not None

    def stop(self, export: Callable[[], ModelArtifact], epoch: int) -> bool:
        """Score the model after ``epoch`` (1-based); True when it is time to stop."""
        assert self.validate is not None
        artifact = export()
        score = float(self.validate(artifact))
        self.scores.append(score)
        if self.best is None or score > self.scores[self.best_epoch - 1]:
            self.best, self.best_epoch = artifact, epoch
        best = self.scores[self.best_epoch - 1]
        logger.info("epoch %d: validation %.4f (best %.4f at epoch %d)", epoch, score, best, self.best_epoch)
        return epoch - self.best_epoch >= self.patience

    def summary(self) -> dict[str, Any]:
        return {"score_per_epoch": self.scores, "best_epoch": self.best_epoch, "patience": self.patience}


def _batches(sampler: DistributedSampler[int], per_rank: int) -> Iterator[np.ndarray]:
    rows = np.fromiter(iter(sampler), dtype=np.int64)
    for start in range(0, len(rows), per_rank):
        yield rows[start : start + per_rank]


def train(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    config: TrainConfig | None = None,
    *,
    progress: bool = False,
    validate: Validator | None = None,
    patience: int = 1,
) -> ModelArtifact:
    """Train the two-tower model on an interactions table; returns the artifact (on every rank).

    ``interactions`` needs ``user_id``, ``item_id``, ``ts`` (``label``, ``weight`` optional);
    ``items``/``users`` are the ETL's ``item_features``/``user_features`` tables or None.
    Raises :class:`components.train.data.TrainingDataError` for unusable input.
    ``progress`` shows a rich progress bar on rank 0.

    Early stopping: with ``validate`` (the artifact after an epoch -> a score, higher is better),
    ``config.epochs`` is the most epochs to run; training stops once ``patience`` epochs in a
    row did not beat the best score, and the best epoch's artifact is returned (its
    ``train.validation`` metadata lists every epoch's score and the best epoch). The validator
    must give every rank the same answer (it does when it is a deterministic function of the
    artifact, which DDP keeps identical on every rank).
    """
    config = config or TrainConfig()
    env = DistEnv.from_torchrun()
    data = tables.build(
        interactions, items, users, use_items=config.use_item_content, use_users=config.use_user_features
    )
    device = _device(env, config.cpu_threads)
    with process_group(env):
        torch.manual_seed(config.seed)
        model = TwoTower(
            n_users=data.n_users,
            n_user_features=data.user_features.shape[1],
            n_items=data.n_id_items,
            n_creators=len(data.creator_ids),
            text_dim=data.item_text.shape[1],
            image_dim=data.item_image.shape[1],
            dim=config.dim,
            hidden=config.hidden,
            temperature=config.temperature,
        ).to(device)
        net: torch.nn.Module = DistributedDataParallel(model) if env.world_size > 1 else model
        # fused AdamW: one kernel over all parameters, about twice as fast as the per-tensor loop on CPU
        optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
        sampler: DistributedSampler[int] = DistributedSampler(
            _Rows(len(data.pos_item)), num_replicas=env.world_size, rank=env.rank, shuffle=True, seed=config.seed
        )
        per_rank = max(1, config.batch_size // env.world_size)
        steps = -(-len(sampler) // per_rank)
        batcher = _Batcher(data, config, device, env.rank)
        losses: list[float] = []
        stopper = _EarlyStop(validate, patience)
        started = time.perf_counter()
        bar = Progress(
            TextColumn("train epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeElapsedColumn(),
            disable=not (progress and env.is_main),
            transient=True,
        )
        with bar:
            task = bar.add_task("train", total=steps * config.epochs, epoch=0, loss=float("nan"))
            for epoch in range(config.epochs):
                sampler.set_epoch(epoch)
                net.train()
                total = torch.zeros(2, dtype=torch.float64, device=device)
                for rows in _batches(sampler, per_rank):
                    loss = net(batcher(rows), config.logq_correction)
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    optimiser.step()
                    total += torch.tensor([loss.item() * len(rows), len(rows)], dtype=torch.float64, device=device)
                    bar.update(task, advance=1, epoch=epoch + 1, loss=loss.item())
                if env.world_size > 1:
                    dist.all_reduce(total)
                losses.append(float(total[0] / total[1]))
                if env.is_main:
                    logger.info("epoch %d/%d: loss %.4f", epoch + 1, config.epochs, losses[-1])
                if stopper.active and stopper.stop(lambda: export_artifact(model, data, config, {}), epoch + 1):
                    break
        seconds = time.perf_counter() - started
        samples = len(sampler) * env.world_size * len(losses)
        stats: dict[str, Any] = {
            "loss_per_epoch": losses,
            "seconds": seconds,
            "samples_per_s": samples / seconds if seconds > 0 else 0.0,
            "world_size": env.world_size,
            "device": device.type,
            "steps_per_epoch": steps,
        }
        if env.is_main:
            logger.info("trained %d samples in %.1f s (%.0f samples/s)", samples, seconds, stats["samples_per_s"])
        if stopper.best is not None:
            return stopper.best.with_metadata(train={**stats, "validation": stopper.summary()})
        return export_artifact(model, data, config, stats)
